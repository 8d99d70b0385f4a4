/**
 * The bundled CLI (scripts/bundle.ts) does what the sources do, and bin/coffer.js runs it only
 * while it is current (bin/pick-entry.js). The bundle under test is built here, in a copy of the
 * package's layout inside the package (bin/ copied, src/ linked, npm packages resolving as from
 * dist/), so the test neither depends on nor disturbs the dist/ that `npm install` built.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, readdir, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
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
  const layout = join(CLI_ROOT, `.bundle-test-${String(process.pid)}`);
  const outDir = join(layout, 'dist');
  let work: { path: string; remove(): Promise<void> };
  let inputs: readonly string[] = [];

  beforeAll(async () => {
    work = await tempDir('coffer-bundle-');
    await mkdir(join(layout, 'bin'), { recursive: true });
    for (const file of ['coffer.js', 'pick-entry.js']) await copyFile(join(CLI_ROOT, 'bin', file), join(layout, 'bin', file));
    await symlink(join(CLI_ROOT, 'src'), join(layout, 'src'));
    ({ inputs } = await bundle(outDir));
  }, 60_000);
  afterAll(async () => {
    await rm(layout, { recursive: true, force: true });
    await work.remove();
  });

  function run(args: readonly string[], env: Env): Promise<Result> {
    return collect(spawn(NODE, [join(outDir, 'coffer.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** Through the launcher, which picks the bundle or the sources and says which (COFFER_DEBUG). */
  function launch(args: readonly string[]): Promise<Result> {
    return collect(spawn(NODE, [join(layout, 'bin', 'coffer.js'), ...args], { env: baseEnv({ COFFER_DEBUG: '1' }), stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  it('holds the workspace sources and no npm package', () => {
    expect(inputs.some((p) => p.endsWith('/src/main.ts'))).toBe(true);
    expect(inputs.some((p) => p.includes('/engine/src/node/backup.ts'))).toBe(true);
    expect(inputs.filter((p) => p.includes('node_modules'))).toEqual([]);
  });

  it('bundles the pack workers too, and starts them from the bundle, not from the TypeScript sources', async () => {
    expect(inputs.some((p) => p.endsWith('/engine/src/node/pack-worker.ts'))).toBe(true);
    const files = await readdir(outDir);
    expect(files).toContain('pack-worker-boot.js');
    const code = (await Promise.all(files.filter((f) => f.endsWith('.js')).map((f) => readFile(join(outDir, f), 'utf8')))).join('\n');
    expect(code).toMatch(/new URL\(["']\.\/pack-worker-boot\.js["'], import\.meta(\.url|\[["']url["']\])\)/);
    // Nothing in the worker's bundle is TypeScript left for Node to strip.
    expect(code).not.toMatch(/import\(["'][^"']*\.ts["']\)/);
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

  it('is what the launcher runs while current, and an incomplete one gives way to the sources', async () => {
    const current = await launch(['version']);
    expect(current.code).toBe(0);
    expect(current.stderr).toContain('coffer: running the bundle');
    expect(current.stdout).toMatch(/^coffer \d+\.\d+\.\d+/);
    // As if `npm run prepare` were replacing it: a chunk is gone when the command starts.
    const chunk = (await readdir(outDir)).find((name) => name !== 'coffer.js' && name.endsWith('.js'));
    expect(chunk).toBeDefined();
    await rename(join(outDir, chunk ?? ''), join(layout, 'aside.js'));
    try {
      const incomplete = await launch(['version']);
      expect(incomplete.code, incomplete.stderr).toBe(0);
      expect(incomplete.stderr).toMatch(/the bundle is incomplete .*; running the sources/);
      expect(incomplete.stdout).toBe(current.stdout);
    } finally {
      await rename(join(layout, 'aside.js'), join(outDir, chunk ?? ''));
    }
    const sources = await collect(spawn(NODE, [join(layout, 'bin', 'coffer.js'), 'version'], { env: baseEnv({ COFFER_DEBUG: '1', COFFER_NO_BUNDLE: '1' }), stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(sources.stderr).not.toContain('running the bundle');
    expect(sources.stdout).toBe(current.stdout);
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
