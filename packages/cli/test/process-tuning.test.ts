/**
 * bin/coffer.js replaces itself (execve, same pid) with a node that has the memory settings a
 * process can only take at start: small young-generation semi-spaces and malloc tuning. The
 * child is held on a FIFO given as its key file, so that its /proc entries can be read.
 */
import { execFileSync } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, coffer, collect, spawnCoffer, tempDir } from './helpers.ts';

const LINUX = process.platform === 'linux';

async function procFields(pid: number, file: 'cmdline' | 'environ'): Promise<string[]> {
  return (await readFile(`/proc/${String(pid)}/${file}`, 'utf8')).split('\0').filter(Boolean);
}

/** Whether a thread of the process waits in open() of a FIFO (node opens files on its thread pool). */
async function blockedOnFifo(pid: number): Promise<boolean> {
  const tasks = await readdir(`/proc/${String(pid)}/task`).catch(() => []);
  const waits = await Promise.all(tasks.map((task) => readFile(`/proc/${String(pid)}/task/${task}/wchan`, 'utf8').catch(() => '')));
  return waits.includes('wait_for_partner');
}

describe.skipIf(!LINUX)('process tuning', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('coffer-tuning-');
  });
  afterEach(async () => {
    await dir.remove();
  });

  async function heldChild(extra: Record<string, string> = {}): Promise<{ cmdline: string[]; environ: string[]; release(): Promise<void> }> {
    const repo = join(dir.path, 'repo');
    expect((await coffer(['init', '--write-recovery-key', join(dir.path, 'key'), '-r', repo], baseEnv())).code).toBe(0);
    const fifo = join(dir.path, 'key.fifo');
    execFileSync('mkfifo', [fifo]);
    const child = spawnCoffer(['-r', repo, '--recovery-key-file', fifo, 'snapshots'], baseEnv(extra));
    const done = collect(child);
    const pid = child.pid ?? -1;
    // Wait until it blocks opening the FIFO: by then bin/coffer.js has exec'd, if it ever will.
    for (let i = 0; i < 400; i++) {
      if (await blockedOnFifo(pid)) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await blockedOnFifo(pid)).toBe(true);
    const cmdline = await procFields(pid, 'cmdline');
    const environ = await procFields(pid, 'environ');
    return {
      cmdline,
      environ,
      async release() {
        await writeFile(fifo, 'not a key\n');
        await done;
      },
    };
  }

  it('runs with small semi-spaces and tuned malloc, in the same process', async () => {
    const held = await heldChild();
    try {
      expect(held.cmdline).toContain('--max-semi-space-size=2');
      expect(held.cmdline).toContain('--heap-growing-percent=50');
      expect(held.environ).toEqual(expect.arrayContaining(['MALLOC_ARENA_MAX=2', 'COFFER_TUNED_PROCESS=1']));
      // Mapping every buffer of 128 KiB or more on its own cost more CPU than the memory it saved.
      expect(held.environ.filter((e) => e.startsWith('MALLOC_MMAP_THRESHOLD_=') || e.startsWith('MALLOC_TRIM_THRESHOLD_='))).toEqual([]);
    } finally {
      await held.release();
    }
  });

  it('keeps what the user set, and COFFER_NO_REEXEC=1 leaves the process as started', async () => {
    const held = await heldChild({ MALLOC_ARENA_MAX: '1' });
    try {
      expect(held.environ).toContain('MALLOC_ARENA_MAX=1');
    } finally {
      await held.release();
    }
    await dir.remove();
    dir = await tempDir('coffer-tuning-');
    const plain = await heldChild({ COFFER_NO_REEXEC: '1' });
    try {
      expect(plain.cmdline).not.toContain('--max-semi-space-size=2');
      expect(plain.cmdline).not.toContain('--heap-growing-percent=50');
      expect(plain.environ.some((e) => e.startsWith('MALLOC_'))).toBe(false);
    } finally {
      await plain.release();
    }
  });
});
