/**
 * One adapter per backup tool, all driven the same way: init a local repository, back up a
 * path, restore the latest snapshot into a directory. Each tool keeps its caches and keys in
 * its own state directory, which the harness wipes with the repository, so every run starts
 * from nothing (no cache left from an earlier run helps a "first" backup).
 *
 * Settings are what a user would pick:
 * - restic: repository format 2 (the default since 0.14) with the default compression "auto" (zstd).
 * - borg: `repokey-blake2` (the fast authenticated mode on CPUs without SHA extensions in
 *   borg 1.2) and the default compression lz4 — the faster of borg's common choices, so the
 *   peer is not handicapped; set BENCH_BORG_COMPRESSION (e.g. zstd,3) to compare another.
 * - coffer: its CLI with a recovery-key unlock method, quiet like restic (no progress output).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ensureDebianPackage, measure, run, type Measured } from './proc.ts';

export type ToolName = 'coffer' | 'restic' | 'borg';
export const TOOL_NAMES: readonly ToolName[] = ['coffer', 'restic', 'borg'];

export interface Tool {
  name: ToolName;
  /** Why the tool cannot run here, or null. Installs Debian packages when missing. */
  prepare(): string | null;
  version(): string;
  /** A fresh repository at `repo`; `state` is an empty directory for keys and caches. */
  init(repo: string, state: string): Promise<void>;
  /** `at`: the time the snapshot records (the 30-day run gives each day its own date). */
  backup(path: string, at?: Date): Promise<Measured>;
  /** Restores the latest snapshot into `target` (an empty directory). */
  restore(target: string): Promise<Measured>;
}

const PASSWORD = 'coffer-bench-password';

/** Environment that keeps every tool's home, config and cache inside its state directory. */
function isolated(state: string): Record<string, string> {
  return { HOME: join(state, 'home'), XDG_CACHE_HOME: join(state, 'cache'), XDG_CONFIG_HOME: join(state, 'config'), XDG_STATE_HOME: join(state, 'state') };
}

class Restic implements Tool {
  readonly name = 'restic';
  private env: Record<string, string> = {};

  prepare(): string | null {
    ensureDebianPackage('restic', 'restic');
    return null;
  }

  version(): string {
    return run('restic', ['version']).trim().split(' ').slice(0, 2).join(' ');
  }

  async init(repo: string, state: string): Promise<void> {
    this.env = { ...isolated(state), RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: join(state, 'restic-cache') };
    await measure('restic', ['init', '--repository-version', '2'], { env: this.env });
  }

  backup(path: string, at?: Date): Promise<Measured> {
    // A fixed host name: restic picks the parent snapshot by host and paths.
    const time = at ? ['--time', at.toISOString().slice(0, 19).replace('T', ' ')] : [];
    return measure('restic', ['backup', '--quiet', '--host', 'bench', ...time, path], { env: this.env });
  }

  restore(target: string): Promise<Measured> {
    return measure('restic', ['restore', 'latest', '--target', target], { env: this.env });
  }
}

class Borg implements Tool {
  readonly name = 'borg';
  private env: Record<string, string> = {};
  private repo = '';
  private archives = 0;
  private readonly compression = process.env.BENCH_BORG_COMPRESSION ?? 'lz4';

  prepare(): string | null {
    ensureDebianPackage('borg', 'borgbackup');
    return null;
  }

  version(): string {
    return `${run('borg', ['--version']).trim()} (compression ${this.compression})`;
  }

  async init(repo: string, state: string): Promise<void> {
    this.repo = repo;
    this.archives = 0;
    this.env = { ...isolated(state), BORG_PASSPHRASE: PASSWORD, BORG_BASE_DIR: join(state, 'borg') };
    await measure('borg', ['init', '--encryption=repokey-blake2', repo], { env: this.env });
  }

  backup(path: string, at?: Date): Promise<Measured> {
    this.archives++;
    const time = at ? ['--timestamp', at.toISOString().slice(0, 19)] : [];
    return measure('borg', ['create', '--compression', this.compression, ...time, `${this.repo}::snapshot-${String(this.archives)}`, path], { env: this.env });
  }

  restore(target: string): Promise<Measured> {
    // borg extracts into the current directory.
    return measure('borg', ['extract', `${this.repo}::snapshot-${String(this.archives)}`], { env: this.env, cwd: target });
  }
}

/**
 * Coffer through its CLI (packages/cli), run by the pinned Node 24. The interface is the one the
 * CLI's issue specifies: `init --write-recovery-key FILE -r REPO`, `-r REPO backup PATH` and
 * `-r REPO restore latest --target DIR`, unlocked by COFFER_RECOVERY_KEY_FILE.
 */
export class Coffer implements Tool {
  readonly name = 'coffer';
  private env: Record<string, string> = {};
  private repo = '';
  private readonly node = existsSync(resolve('node_modules/.bin/node')) ? resolve('node_modules/.bin/node') : process.execPath;
  private readonly cli = resolve('packages/cli/bin/coffer.js');

  prepare(): string | null {
    if (!existsSync(this.cli)) return `${this.cli} does not exist yet`;
    // What `npm install` leaves: the bundled CLI, rebuilt if a source changed since (else the CLI
    // would run its sources, ≈0.1 s slower to start than what users run).
    run(this.node, [resolve('packages/cli/scripts/bundle.ts')]);
    return null;
  }

  version(): string {
    try {
      return run(this.node, [this.cli, 'version']).trim();
    } catch {
      return `coffer (workspace ${run('git', ['rev-parse', '--short', 'HEAD']).trim()})`;
    }
  }

  async init(repo: string, state: string): Promise<void> {
    this.repo = repo;
    const keyFile = join(state, 'recovery-key.txt');
    this.env = { ...isolated(state), COFFER_RECOVERY_KEY_FILE: keyFile };
    await measure(this.node, [this.cli, 'init', '--write-recovery-key', keyFile, '-r', repo], { env: this.env });
  }

  backup(path: string, at?: Date): Promise<Measured> {
    // -q like restic's --quiet: no progress rendering while timed. --time as restic's.
    const time = at ? ['--time', at.toISOString()] : [];
    return measure(this.node, [this.cli, '-q', '-r', this.repo, 'backup', ...time, path], { env: this.env });
  }

  /** `coffer forget --keep-daily N --prune`. */
  forgetDaily(days: number): Promise<Measured> {
    return measure(this.node, [this.cli, '-q', '-r', this.repo, 'forget', '--keep-daily', String(days), '--prune'], { env: this.env });
  }

  /** Every snapshot's id and time, oldest first. */
  snapshots(): { id: string; time: string }[] {
    const out = JSON.parse(run(this.node, [this.cli, '--json', '-r', this.repo, 'snapshots'], { env: this.env })) as { snapshots: { id: string; time: string }[] };
    return out.snapshots.map((s) => ({ id: s.id, time: s.time }));
  }

  restoreSnapshot(id: string, target: string): Promise<Measured> {
    return measure(this.node, [this.cli, '-q', '-r', this.repo, 'restore', id, '--target', target], { env: this.env });
  }

  restore(target: string): Promise<Measured> {
    return measure(this.node, [this.cli, '-q', '-r', this.repo, 'restore', 'latest', '--target', target], { env: this.env });
  }
}

export function makeTool(name: ToolName): Tool {
  switch (name) {
    case 'coffer':
      return new Coffer();
    case 'restic':
      return new Restic();
    case 'borg':
      return new Borg();
  }
}

/** Creates the directories a tool's state needs (some tools refuse a missing HOME or cache dir). */
export function makeState(state: string): void {
  for (const d of ['home', 'cache', 'config', 'state']) mkdirSync(join(state, d), { recursive: true });
}

/**
 * Where a restore put the backed-up directory: restic and borg recreate its absolute path under
 * the target; another tool may restore its contents directly or under its base name.
 */
export function restoredRoot(target: string, source: string, marker: string): string | null {
  for (const candidate of [join(target, source), join(target, basename(source)), target]) {
    if (existsSync(join(candidate, marker))) return candidate;
  }
  return null;
}
