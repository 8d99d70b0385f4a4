/**
 * The same walkthrough against the remote drivers, through repository URLs:
 * s3:http://127.0.0.1:PORT/bucket/prefix on s3rver (credentials from the AWS
 * variables) and webdav:http://127.0.0.1:PORT/path on `rclone serve webdav`
 * (credentials from COFFER_WEBDAV_USER/PASSWORD). The servers are started by
 * the engine's own test helpers.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningS3rver, startS3rver } from '../../engine/test/s3rver-server.ts';
import { type RunningWebDav, startWebDav } from '../../engine/test/webdav-server.ts';
import { type Env, baseEnv, coffer, expectNoStackTrace, expectSameTree, noise, tempDir } from './helpers.ts';

let work: { path: string; remove: () => Promise<void> };
let source: string;
let s3: RunningS3rver | undefined;
let dav: RunningWebDav | undefined;

beforeAll(async () => {
  work = await tempDir('coffer-cli-remote-');
  source = join(work.path, 'chat');
  await mkdir(join(source, 'media'), { recursive: true });
  await writeFile(join(source, 'messages.txt'), 'hello\n'.repeat(10_000));
  await writeFile(join(source, 'media', 'photo.jpg'), noise(7, 300_000));
  await mkdir(join(work.path, 's3rver'));
  await mkdir(join(work.path, 'dav'));
  [s3, dav] = await Promise.all([startS3rver(join(work.path, 's3rver')), startWebDav(join(work.path, 'dav'), 'alice', 'dav-secret')]);
  // s3rver starts without buckets; an unsigned PUT creates one.
  const created = await fetch(`http://127.0.0.1:${String(s3.port)}/coffer-test`, { method: 'PUT' });
  expect(created.status).toBe(200);
});

afterAll(async () => {
  await Promise.all([s3?.stop(), dav?.stop()]);
  await work.remove();
});

async function walkthrough(name: string, env: Env): Promise<void> {
  const keyFile = join(work.path, `${name}.key`);
  const keyed = { ...env, COFFER_STATE_DIR: join(work.path, `${name}-state`), COFFER_RECOVERY_KEY_FILE: keyFile };
  const init = await coffer(['init', '--write-recovery-key', keyFile], keyed);
  expect(init.code, init.stderr).toBe(0);
  const backup = await coffer(['backup', source], keyed);
  expect(backup.code, backup.stderr).toBe(0);
  const target = join(work.path, `${name}-restored`);
  const restore = await coffer(['restore', 'latest', '--target', target], keyed);
  expect(restore.code, restore.stderr).toBe(0);
  expect(await expectSameTree(source, join(target, 'chat'))).toBe(2);
  const check = await coffer(['check', '--read-data'], keyed);
  expect(check.code, check.stderr).toBe(0);
  expect(check.stdout).toContain('no errors were found');
}

describe.concurrent('remote repositories', () => {
  test('s3: init, backup, restore, check --read-data', async () => {
    const env = baseEnv({ COFFER_REPOSITORY: `s3:http://127.0.0.1:${String(s3?.port)}/coffer-test/cli/repo`, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
    await walkthrough('s3', env);
    const missing = await coffer(['snapshots'], { ...env, COFFER_REPOSITORY: `s3:http://127.0.0.1:${String(s3?.port)}/coffer-test/cli/nothing`, COFFER_RECOVERY_KEY_FILE: join(work.path, 's3.key') });
    expect(missing.code, missing.stderr).toBe(10);
    const bad = await coffer(['snapshots', '-r', 's3:http://127.0.0.1/Not_A_Bucket'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('an S3 bucket name is');
  });

  test('webdav: init, backup, restore, check --read-data; wrong credentials are explained', async () => {
    const env = baseEnv({ COFFER_REPOSITORY: `webdav:${dav?.url ?? ''}coffer/repo`, COFFER_WEBDAV_USER: 'alice', COFFER_WEBDAV_PASSWORD: 'dav-secret' });
    await walkthrough('dav', env);
    const denied = await coffer(['snapshots'], { ...env, COFFER_WEBDAV_PASSWORD: 'wrong', COFFER_RECOVERY_KEY_FILE: join(work.path, 'dav.key') });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('COFFER_WEBDAV_USER and COFFER_WEBDAV_PASSWORD');
    expect(denied.stderr).not.toContain('wrong');
    expectNoStackTrace(denied);
  });
});
