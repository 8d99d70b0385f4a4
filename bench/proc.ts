/**
 * Running the tools under measurement: wall time from here, peak RSS and CPU time from GNU time
 * (`/usr/bin/time -v`, which reads the child's rusage, so the harness's own memory never counts).
 * Also the machine chores: installing Debian packages, syncing and dropping the page cache.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measured {
  wallSeconds: number;
  cpuSeconds: number;
  maxRssBytes: number;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
}

const TAIL = 8192;

/** Runs `cmd args` to completion under GNU time; throws with the output's tail if it fails. */
export async function measure(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-bench-time-'));
  const report = join(dir, 'time.txt');
  try {
    const started = performance.now();
    let output = '';
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn('/usr/bin/time', ['-v', '-o', report, cmd, ...args], {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Keep only the tail: restic and borg can print a lot, and only errors matter here.
      const keep = (chunk: Buffer): void => {
        output = (output + chunk.toString('utf8')).slice(-TAIL);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', reject);
      child.on('close', (status) => {
        resolve(status ?? 1);
      });
    });
    const wallSeconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${String(code)}:\n${output}`);
    const text = readFileSync(report, 'utf8');
    const field = (label: string): number => {
      const match = new RegExp(`${label}: ([0-9.]+)`).exec(text);
      if (match?.[1] === undefined) throw new Error(`no "${label}" in GNU time output:\n${text}`);
      return Number(match[1]);
    };
    return {
      wallSeconds,
      cpuSeconds: field('User time \\(seconds\\)') + field('System time \\(seconds\\)'),
      maxRssBytes: field('Maximum resident set size \\(kbytes\\)') * 1024,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Untimed helper: runs a command and returns its stdout (throws on failure). */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): string {
  return execFileSync(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

function onPath(binary: string): boolean {
  try {
    run('sh', ['-c', `command -v ${binary}`]);
    return true;
  } catch {
    return false;
  }
}

let aptUpdated = false;

/**
 * Installs a Debian package when its binary is missing. Debian's apt only, as the project's
 * machines allow; `apt-get update` runs once, and only if a plain install fails.
 */
export function ensureDebianPackage(binary: string, pkg: string): void {
  if (binary.startsWith('/') ? existsSync(binary) : onPath(binary)) return;
  if (process.getuid?.() !== 0) throw new Error(`${binary} is missing: install the Debian package ${pkg} (needs root)`);
  process.stderr.write(`installing Debian package ${pkg} …\n`);
  const install = (): void => {
    execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  try {
    install();
  } catch (error) {
    if (aptUpdated) throw error;
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
    aptUpdated = true;
    install();
  }
}

/** Flushes dirty pages (so a restore's writeback does not spill into the next measurement). */
export function sync(): void {
  execFileSync('sync');
}

/** Empties the page cache so the next read comes from disk; false where the kernel refuses. */
export function dropCaches(): boolean {
  try {
    sync();
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

/** Reads every file under the paths once, for warm-cache runs. */
export function warm(paths: readonly string[]): void {
  for (const p of paths) run('sh', ['-c', 'find "$1" -type f -exec cat {} + > /dev/null', 'warm', p]);
}

/** Apparent size of a directory tree in bytes (what an object store would bill). */
export function duBytes(dir: string): number {
  const out = run('du', ['-sb', dir]);
  return Number(out.split('\t')[0]);
}

/** Byte-for-byte comparison of two trees; null when equal, else diff's first lines. */
export function compareTrees(expected: string, actual: string): string | null {
  try {
    run('diff', ['-rq', '--no-dereference', expected, actual]);
    return null;
  } catch (error) {
    const out = (error as { stdout?: string }).stdout ?? String(error);
    return out.split('\n').slice(0, 10).join('\n');
  }
}

/** CPU time counters of the whole machine, to report how much the hypervisor took (steal) during a run. */
export interface CpuCounters {
  total: number;
  steal: number;
  idle: number;
}

export function cpuCounters(): CpuCounters | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal ...
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0, idle: (f[3] ?? 0) + (f[4] ?? 0) };
  } catch {
    return null;
  }
}
