/**
 * Runs the real `coffer` the way a user does: a child process of
 * `node packages/cli/bin/coffer.js`, with an environment built from scratch
 * (no COFFER_* or AWS_* leaking in from the developer's shell), and collects
 * its exit code, stdout and stderr.
 */
import { spawn } from 'node:child_process';
import { lstat, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { noise as noiseBytes } from '../../engine/test/noise.ts';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const COFFER = fileURLToPath(new URL('../bin/coffer.js', import.meta.url));

/** The Node running the tests if it strips types, else the project's pinned one. */
export const NODE = (process.features as { typescript?: string }).typescript ? process.execPath : join(ROOT, 'node_modules', '.bin', 'node');

export interface Result {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export type Env = Record<string, string | undefined>;

/** The parent's environment without anything that would change what coffer does. */
export function baseEnv(extra: Env = {}): Env {
  const env: Env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(COFFER_|AWS_|XDG_STATE_HOME$|NODE_OPTIONS$)/.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

export function spawnCoffer(args: readonly string[], env: Env): ReturnType<typeof spawn> {
  return spawn(NODE, [COFFER, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function collect(child: ReturnType<typeof spawn>): Promise<Result> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export async function coffer(args: readonly string[], env: Env): Promise<Result> {
  return collect(spawnCoffer(args, env));
}

/** Runs coffer with --json and parses stdout as exactly one JSON document. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the document's shape
export async function cofferJson<T = Record<string, unknown>>(args: readonly string[], env: Env): Promise<Result & { json: T }> {
  const result = await coffer(['--json', ...args], env);
  let json: T;
  try {
    json = JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`coffer --json ${args.join(' ')} printed no JSON document (exit ${String(result.code)}):\n${result.stdout}\n${result.stderr}`);
  }
  return { ...result, json };
}

/** The JSON error document coffer --json prints on stderr. */
export function jsonError(result: Result): { code: string; message: string } {
  const doc = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '') as { error: { code: string; message: string } };
  return doc.error;
}

export function expectNoStackTrace(result: Result): void {
  expect(result.stderr).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/);
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * `diff -r` plus metadata: the same names, types, contents, symlink targets,
 * permission bits, and modification times to the microsecond (symlinks: not
 * their own times, which restore sets but some filesystems round).
 */
export async function expectSameTree(a: string, b: string): Promise<number> {
  let files = 0;
  const names = (await readdir(a)).sort();
  expect((await readdir(b)).sort(), b).toEqual(names);
  for (const name of names) {
    const [sa, sb] = [await lstat(join(a, name), { bigint: true }), await lstat(join(b, name), { bigint: true })];
    const where = join(b, name);
    expect(sb.mode, `mode of ${where}`).toBe(sa.mode);
    if (sa.isSymbolicLink()) {
      expect(await readlink(join(b, name)), where).toBe(await readlink(join(a, name)));
      continue;
    }
    // Restored to the microsecond; the engine hands utimes() seconds as a double, which can land one microsecond early.
    const drift = sb.mtimeNs - sa.mtimeNs;
    expect(drift > -2000n && drift < 2000n, `mtime of ${where} is off by ${String(drift)} ns`).toBe(true);
    if (sa.isDirectory()) files += await expectSameTree(join(a, name), join(b, name));
    else {
      expect(Buffer.compare(await readFile(join(a, name)), await readFile(join(b, name))), `content of ${where}`).toBe(0);
      files++;
    }
  }
  return files;
}

/** Seeded pseudo-random bytes (the engine tests' noise), as a Buffer: incompressible like media, and reproducible. */
export function noise(seed: number, length: number): Buffer {
  const bytes = noiseBytes(seed, length);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Runs the CLI in this process (the same `run` that bin/coffer.js calls) with
 * captured streams: for the many help and usage checks that need no child
 * process of their own.
 */
export async function runInProcess(argv: readonly string[], env: Env): Promise<Result> {
  const { run } = await import('../src/cli.ts');
  const { Readable } = await import('node:stream');
  let stdout = '';
  let stderr = '';
  const code = await run({
    argv,
    env,
    stdin: Readable.from([]),
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
  });
  return { code, signal: null, stdout, stderr };
}

/** runInProcess with --json, stdout parsed as one document: for looking up state between the steps under test. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the document's shape
export async function inProcessJson<T = Record<string, unknown>>(args: readonly string[], env: Env): Promise<Result & { json: T }> {
  const result = await runInProcess(['--json', ...args], env);
  try {
    return { ...result, json: JSON.parse(result.stdout) as T };
  } catch {
    throw new Error(`coffer --json ${args.join(' ')} (in-process) printed no JSON document (exit ${String(result.code)}):\n${result.stdout}\n${result.stderr}`);
  }
}
