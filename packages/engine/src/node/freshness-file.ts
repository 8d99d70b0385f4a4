/**
 * Remembers, per repository, the newest config and snapshot this device has
 * verified (format.md §5.3, §9.8), in one small JSON file per repository.
 * Written atomically (temporary file, fsync, rename, fsync of the directory), so a
 * crash never leaves a half-written state that would disable rollback detection,
 * nor loses a state once save() returned. Temporary files that a killed process
 * left behind are removed by the next save.
 */
import { mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FreshnessState, FreshnessStore } from '../repo/repository.ts';

const STALE_MS = 10 * 60 * 1000;

export class FileFreshnessStore implements FreshnessStore {
  readonly directory: string;

  constructor(directory: string) {
    this.directory = directory;
  }

  async load(repositoryId: string): Promise<FreshnessState | undefined> {
    try {
      return JSON.parse(await readFile(this.path(repositoryId), 'utf8')) as FreshnessState;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async save(repositoryId: string, state: FreshnessState): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const temporary = `${this.path(repositoryId)}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(state));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.path(repositoryId));
    await this.syncDirectory();
    await this.removeStale(repositoryId);
  }

  private async syncDirectory(): Promise<void> {
    const handle = await open(this.directory, 'r');
    try {
      await handle.sync();
    } catch (error) {
      // Some filesystems cannot fsync a directory; the rename is as durable as they make it.
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
    } finally {
      await handle.close();
    }
  }

  /** Drops this repository's temporary files older than STALE_MS: a save never takes that long, so nobody is still writing them. */
  private async removeStale(repositoryId: string): Promise<void> {
    const prefix = `${repositoryId}.json.`;
    for (const name of await readdir(this.directory)) {
      if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
      const file = join(this.directory, name);
      const info = await stat(file).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > STALE_MS) await unlink(file).catch(() => undefined);
    }
  }

  private path(repositoryId: string): string {
    if (!/^[0-9a-f]{32}$/.test(repositoryId)) throw new Error('repository id must be 32 hex digits');
    return join(this.directory, `${repositoryId}.json`);
  }
}
