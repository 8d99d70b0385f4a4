/**
 * The bundled CLI (scripts/bundle.ts) does what the sources do, and bin/pick-entry.js runs it only
 * while it is current. The bundle under test is built here, into a folder of its own inside the
 * package (npm packages resolve from there as from dist/), so the test neither depends on nor
 * disturbs the dist/ that `npm install` built.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain JavaScript without declarations: it runs before anything is loaded
import { pickBundle } from '../bin/pick-entry.js';
import { bundle } from '../scripts/bundle.ts';
import { NODE, baseEnv, collect, expectSameTree, noise, tempDir, type Env, type Result } from './helpers.ts';

const CLI_ROOT = fileURLToPath(new URL('..', import.meta.url));

type Picked = { entry?: URL; reason?: string };
const pick = pickBundle as (distDir: URL) => Picked;

describe('the bundled CLI', () => {
  const outDir = join(CLI_ROOT, `.bundle-test-${String(process.pid)}`);
  let work: { path: string; remove(): Promise<void> };
  let inputs: readonly string[] = [];

  beforeAll(async () => {
    work = await tempDir('coffer-bundle-');
    ({ inputs } = await bundle(outDir));
  }, 60_000);
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
    await work.remove();
  });

  function run(args: readonly string[], env: Env): Promise<Result> {
    return collect(spawn(NODE, [join(outDir, 'coffer.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  it('holds the workspace sources and no npm package', () => {
    expect(inputs).toContain('../src/main.ts');
    expect(inputs.some((p) => p.includes('/engine/src/node/backup.ts'))).toBe(true);
    expect(inputs.filter((p) => p.includes('node_modules'))).toEqual([]);
  });

  it('backs up, checks and restores like the sources, pack workers included', async () => {
    const source = join(work.path, 'chat');
    await mkdir(join(source, 'media'), { recursive: true });
    // Larger than a read piece (4 MiB), so the workers seal blobs from several pieces.
    await writeFile(join(source, 'media', 'video.mp4'), noise(1, 9 * 1024 * 1024 + 17));
    await writeFile(join(source, 'media', 'photo.jpg'), noise(2, 300_000));
    await writeFile(join(source, 'notes.txt'), 'hello from the bundle\n'.repeat(5000));
    await symlink('media/photo.jpg', join(source, 'latest.jpg'));
    await utimes(join(source, 'notes.txt'), 1_700_000_000, 1_700_000_000.123456);
    const repo = join(work.path, 'repo');
    const key = join(work.path, 'key');
    const env = baseEnv({ COFFER_RECOVERY_KEY_FILE: key, XDG_STATE_HOME: join(work.path, 'state') });

    expect((await run(['version'], env)).stdout).toMatch(/^coffer \d+\.\d+\.\d+/);
    for (const args of [
      ['init', '--write-recovery-key', key, '-r', repo],
      ['-q', '-r', repo, 'backup', source],
      ['-q', '-r', repo, 'check', '--read-data'],
      ['-q', '-r', repo, 'restore', 'latest', '--target', join(work.path, 'restored')],
    ]) {
      const result = await run(args, env);
      expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(0);
    }
    expect(await expectSameTree(source, join(work.path, 'restored', 'chat'))).toBe(3); // regular files; the symlink is compared too
  }, 60_000);

  describe('is picked only while current', () => {
    const dist = (): URL => pathToFileURL(`${outDir}/`);

    it('when every source is older than the bundle', () => {
      expect(pick(dist()).entry?.href).toBe(pathToFileURL(join(outDir, 'coffer.js')).href);
    });

    it('not after a source changed', async () => {
      const manifestPath = join(outDir, 'manifest.json');
      const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { builtAt: number };
      // As if the bundle had been built long ago: every source is now newer.
      await writeFile(manifestPath, JSON.stringify({ ...manifest, builtAt: 1_000 }));
      expect(pick(dist()).reason).toMatch(/changed after the bundle was built/);
      await writeFile(manifestPath, JSON.stringify(manifest));
      expect(pick(dist()).entry).toBeDefined();
    });

    it('not when a source is gone, the manifest is damaged or another Node built it', async () => {
      const manifestPath = join(outDir, 'manifest.json');
      const original = await readFile(manifestPath, 'utf8');
      const manifest = JSON.parse(original) as { inputs: string[]; node: string };
      await writeFile(manifestPath, JSON.stringify({ ...manifest, inputs: [...manifest.inputs, '../src/removed.ts'] }));
      expect(pick(dist()).reason).toMatch(/removed\.ts is gone/);
      await writeFile(manifestPath, JSON.stringify({ ...manifest, node: 'v0.0.1' }));
      expect(pick(dist()).reason).toMatch(/built by Node v0\.0\.1/);
      await writeFile(manifestPath, '{"format": 1');
      expect(pick(dist()).reason).toBe('unreadable bundle manifest');
      await writeFile(manifestPath, '{"format": 2}');
      expect(pick(dist()).reason).toBe('unreadable bundle manifest');
      await writeFile(manifestPath, original);
      expect(pick(pathToFileURL(`${join(work.path, 'nowhere')}/`)).reason).toBe('no bundle');
    });
  });
});
