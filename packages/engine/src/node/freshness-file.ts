/**
 * Remembers, per repository, the newest config and snapshot this device has
 * verified (format.md §5.3, §9.8), in one small JSON file per repository.
 * Written atomically (temporary file, fsync, rename), so a crash never leaves a
 * half-written state that would disable rollback detection.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FreshnessState, FreshnessStore } from '../repo/repository.ts';

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
  }

  private path(repositoryId: string): string {
    if (!/^[0-9a-f]{32}$/.test(repositoryId)) throw new Error('repository id must be 32 hex digits');
    return join(this.directory, `${repositoryId}.json`);
  }
}
