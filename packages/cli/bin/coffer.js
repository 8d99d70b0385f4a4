#!/usr/bin/env node
// The `coffer` command. Node ≥ 22.18 runs the TypeScript sources directly (type
// stripping); run it through npm (`npx coffer`) so the project's pinned Node 24
// is the one on PATH.
import module from 'node:module';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `coffer: needs Node 22.18 or newer (this is ${process.version}); run it as \`npx coffer\` from the project so npm puts its pinned Node 24 first on PATH\n`,
  );
  process.exit(1);
}

/**
 * Memory settings a process can only take at start, so the command replaces itself (execve: same
 * process id, stdio and exit status) with a node that has them. Measured on a 2.4 GB backup, peak
 * RSS 232 → 190 MiB:
 * - V8 grows each isolate's young generation from 16 to 32 MiB semi-spaces when much of it
 *   survives a scavenge — and a backup's in-flight chunks do. 2 MiB semi-spaces cap that growth
 *   (pack workers inherit the flag) at the cost of more, smaller scavenges.
 * - glibc gives each thread that allocates an arena of its own, up to eight per core, and each
 *   fragments on its own (the thread pool alone has 16 threads, threadpool.ts). Two arenas serve
 *   all threads instead.
 * - V8 lets the old generation grow to up to four times what survived the last full collection
 *   before it collects again, and with 2 MiB semi-spaces much short-lived garbage (a file's
 *   promises, outlived by its I/O) is promoted there. --heap-growing-percent=50 collects at 1.5×
 *   instead. Measured on 50,000 files of 100 B–3 KB: backup peak 260 → 194–207 MiB, restore
 *   363 → 229 MiB (≈0.9 s more CPU); the benchmark's backups and restores unchanged. (Not a
 *   cap like --max-old-space-size, which would fail a repository with a large live set.)
 * glibc's MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ (128 KiB) were set too, once: they
 * saved a few MiB but cost CPU, since every buffer of 128 KiB or more was then mapped, faulted in
 * page by page, and unmapped again. Measured on two cores at scale 1, without them: first backup
 * 6.9 instead of 7.4 s of CPU, restore 5.4 instead of 5.9 s, peak RSS +3 MiB (177 and 159 MiB).
 * COFFER_NO_REEXEC=1 runs without any of them (for profiling the difference).
 */
const TUNED = 'COFFER_TUNED_PROCESS';
if (process.env[TUNED] !== '1' && process.env.COFFER_NO_REEXEC !== '1' && typeof process.execve === 'function') {
  const env = { MALLOC_ARENA_MAX: '2', ...process.env, [TUNED]: '1' };
  const userSet = (flag) => process.execArgv.some((a) => a.startsWith(flag)) || (process.env.NODE_OPTIONS ?? '').includes(flag);
  const flags = [userSet('--max-semi-space-size') ? [] : ['--max-semi-space-size=2'], userSet('--heap-growing-percent') ? [] : ['--heap-growing-percent=50']].flat();
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], env);
}

// Type stripping and compiling ~130 modules takes a second; the cache makes later starts fast.
module.enableCompileCache?.();
// The bundle npm install builds (scripts/bundle.ts) starts ≈0.1 s sooner than the sources; it is
// used only while no source file is newer than it.
const { SOURCES, pickEntry } = await import('./pick-entry.js');
const entry = pickEntry();
try {
  await import(entry.href);
} catch (error) {
  // A bundle being replaced (`npm run prepare`) under a starting command: a file of it was gone
  // when Node linked it, before any of it ran. The sources serve this one run.
  if (entry === SOURCES || error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(fileURLToPath(new URL('../dist/', import.meta.url)))) throw error;
  if (process.env.COFFER_DEBUG === '1') process.stderr.write(`coffer: the bundle is incomplete (${String(error.message)}); running the sources\n`);
  await import(SOURCES.href);
}
