/**
 * Storage faults seen from the command line: a flaky network that recovers
 * (the run succeeds), a network that goes away mid-backup (a clear message,
 * exit 1, no partial snapshot, and the next run completes), and a full
 * storage (E_STORAGE_FULL, exit 1, earlier snapshots intact). Each runs on S3
 * (s3rver) and WebDAV (rclone) behind a fault-injecting proxy on loopback.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { type RunningS3rver, startS3rver } from '../../engine/test/s3rver-server.ts';
import { type FaultAction, type FaultProxy, s3Error, startFaultProxy } from '../../engine/test/storage-fault-proxy.ts';
import { type RunningWebDav, startWebDav } from '../../engine/test/webdav-server.ts';
import { type Env, baseEnv, coffer, cofferJson, expectNoStackTrace, expectSameTree, jsonError, noise, tempDir } from './helpers.ts';

let work: { path: string; remove: () => Promise<void> };
let source: string;
let s3: RunningS3rver | undefined;
let dav: RunningWebDav | undefined;
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  work = await tempDir('coffer-cli-faults-');
  source = join(work.path, 'chat');
  await mkdir(join(source, 'media'), { recursive: true });
  await writeFile(join(source, 'messages.txt'), 'hello\n'.repeat(20_000));
  for (let i = 0; i < 6; i++) await writeFile(join(source, 'media', `photo-${String(i)}.jpg`), noise(100 + i, 200_000));
  await mkdir(join(work.path, 's3rver'));
  await mkdir(join(work.path, 'dav'));
  [s3, dav] = await Promise.all([startS3rver(join(work.path, 's3rver')), startWebDav(join(work.path, 'dav'), 'alice', 'dav-secret')]);
  const created = await fetch(`http://127.0.0.1:${String(s3.port)}/faults`, { method: 'PUT' });
  expect(created.status).toBe(200);
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all([s3?.stop(), dav?.stop()]);
  await work.remove();
});

/** How the proxy behaves; tests switch it between phases. */
interface Switch {
  decide: (method: string, path: string, index: number) => FaultAction;
}

interface Backend {
  name: 's3' | 'webdav';
  env(proxyPort: number, repo: string): Env;
  /** The answer a full storage gives to an upload. */
  full: FaultAction;
  upstreamPort(): number;
}

const BACKENDS: Backend[] = [
  {
    name: 's3',
    env: (port, repo) => ({ COFFER_REPOSITORY: `s3:http://127.0.0.1:${String(port)}/faults/${repo}`, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }),
    full: s3Error(403, 'QuotaExceeded'),
    upstreamPort: () => s3?.port ?? 0,
  },
  {
    name: 'webdav',
    env: (port, repo) => ({ COFFER_REPOSITORY: `webdav:http://127.0.0.1:${String(port)}/${repo}`, COFFER_WEBDAV_USER: 'alice', COFFER_WEBDAV_PASSWORD: 'dav-secret' }),
    full: { status: 507, body: '' },
    upstreamPort: () => dav?.port ?? 0,
  },
];

async function setUp(backend: Backend, repo: string): Promise<{ env: Env; sw: Switch; proxy: FaultProxy }> {
  const sw: Switch = { decide: () => 'pass' };
  const proxy = await startFaultProxy(backend.upstreamPort(), (request, index) => sw.decide(request.method ?? '', request.url ?? '', index));
  proxies.push(proxy);
  const keyFile = join(work.path, `${backend.name}-${repo}.key`);
  const env = baseEnv({
    ...backend.env(proxy.port, repo),
    COFFER_STATE_DIR: join(work.path, `${backend.name}-${repo}-state`),
    COFFER_RECOVERY_KEY_FILE: keyFile,
  });
  const init = await coffer(['init', '--write-recovery-key', keyFile], env);
  expect(init.code, init.stderr).toBe(0);
  return { env, sw, proxy };
}

const isUpload = (method: string, path: string): boolean => method === 'PUT' && /\/data\/|\/packs?\//.test(path);

async function snapshotCount(env: Env): Promise<number> {
  const listed = await cofferJson<{ snapshots: unknown[] }>(['snapshots'], env);
  expect(listed.code, listed.stderr).toBe(0);
  return listed.json.snapshots.length;
}

async function restoresIdentical(env: Env, target: string): Promise<void> {
  const restore = await coffer(['restore', 'latest', '--target', target], env);
  expect(restore.code, restore.stderr).toBe(0);
  expect(await expectSameTree(source, join(target, 'chat'))).toBe(7);
}

describe.each(BACKENDS)('$name through a faulty network', (backend) => {
  test('a flaky connection (resets and 503s scattered over the run) only slows it down', async () => {
    const { env, sw, proxy } = await setUp(backend, 'flaky');
    // Faults at least six requests apart (one pair back to back), so no operation — even a
    // four-request one like the S3 conditional-write probe — exhausts its five tries.
    const resets = new Set([3, 4, 16, 29]);
    const unavailable = new Set([10, 22, 23, 35]);
    const start = proxy.requests.length;
    sw.decide = (_m, _p, index) => (resets.has(index - start) ? 'reset' : unavailable.has(index - start) ? { status: 503, body: '' } : 'pass');
    const backup = await coffer(['backup', source], env);
    expect(backup.code, backup.stderr).toBe(0);
    expect(proxy.requests.length - start, 'every planned fault was reached').toBeGreaterThan(36);
    sw.decide = () => 'pass';
    await restoresIdentical(env, join(work.path, `${backend.name}-flaky-restored`));
  });

  test('the network going away mid-backup: exit 1, a clear message, no partial snapshot; the next run completes', async () => {
    const { env, sw } = await setUp(backend, 'outage');
    const first = await coffer(['backup', source], env);
    expect(first.code, first.stderr).toBe(0);
    await writeFile(join(source, 'media', 'photo-5.jpg'), noise(999, 200_000));
    onTestFinished(() => writeFile(join(source, 'media', 'photo-5.jpg'), noise(105, 200_000)));
    let uploads = 0;
    // After the first new upload, every request is cut: the network is gone.
    sw.decide = (method, path) => (uploads > 0 || (isUpload(method, path) && uploads++ > 0) ? 'reset' : 'pass');
    const failed = await coffer(['--json', 'backup', source], env);
    expect(failed.code, failed.stderr).toBe(1);
    expect(jsonError(failed).code).toBe('E_STORAGE_UNAVAILABLE');
    const human = await coffer(['backup', source], env);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('could not be reached');
    expectNoStackTrace(human);
    sw.decide = () => 'pass';
    expect(await snapshotCount(env)).toBe(1);
    const again = await coffer(['backup', source], env);
    expect(again.code, again.stderr).toBe(0);
    expect(await snapshotCount(env)).toBe(2);
    await restoresIdentical(env, join(work.path, `${backend.name}-outage-restored`));
  });

  test('a full storage: E_STORAGE_FULL with a hint, exit 1, the earlier snapshot intact', async () => {
    const { env, sw } = await setUp(backend, 'full');
    const first = await coffer(['backup', source], env);
    expect(first.code, first.stderr).toBe(0);
    // New data beside the source (so the source tree, mtimes included, stays as snapshot 1 saw it).
    const extra = join(work.path, `${backend.name}-extra`);
    await mkdir(extra);
    await writeFile(join(extra, 'new.jpg'), noise(4242, 300_000));
    sw.decide = (method, path) => (isUpload(method, path) ? backend.full : 'pass');
    const failed = await coffer(['--json', 'backup', source, extra], env);
    expect(failed.code, failed.stderr).toBe(1);
    expect(jsonError(failed).code).toBe('E_STORAGE_FULL');
    const human = await coffer(['backup', source, extra], env);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('the storage is full or over its quota');
    expectNoStackTrace(human);
    sw.decide = () => 'pass';
    expect(await snapshotCount(env)).toBe(1);
    await restoresIdentical(env, join(work.path, `${backend.name}-full-restored`));
  });
});
