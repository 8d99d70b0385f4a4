/**
 * Handing a newly created recovery key to its owner (`init`, `key add`):
 * written to --write-recovery-key FILE (created with mode 0600, never over an
 * existing file) or shown once on a terminal. When neither is possible the
 * command refuses *before* changing the repository, so a key is never made
 * that nobody has seen.
 *
 * Order: prepare() checks the destination, write() makes the file durable
 * before the repository starts depending on the key, abandon() removes it again
 * if the repository change fails, show() prints it on the terminal afterwards.
 */
import { existsSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { RecoveryKey } from '@coffer/core';
import { UsageError, isSystemError } from './exit-codes.ts';
import type { Io, OutStream } from './io.ts';
import type { Output } from './output.ts';

export const LOSS_WARNING = 'if every unlock method of a repository is lost (this key and any other), its backups are lost for good: nobody, not even Coffer, can decrypt them';

export class KeyDelivery {
  /** Absolute path of the key file, or undefined when the key is shown on a terminal. */
  readonly file: string | undefined;
  private readonly terminal: OutStream | undefined;
  private readonly command: string;
  private written = false;

  private constructor(file: string | undefined, terminal: OutStream | undefined, command: string) {
    this.file = file;
    this.terminal = terminal;
    this.command = command;
  }

  static prepare(io: Io, out: Output, file: string | undefined, command: string): KeyDelivery {
    if (file !== undefined) {
      if (file === '') throw new UsageError('--write-recovery-key needs a file name', command);
      // Refused early, before anything else happens; write() refuses again if the file appears meanwhile.
      if (existsSync(file)) throw refuseOverwrite(resolve(file), command);
      return new KeyDelivery(resolve(file), undefined, command);
    }
    // Text on a terminal: stdout unless it carries the JSON document, else stderr.
    const terminal = io.stdout.isTTY === true && !out.json ? io.stdout : io.stderr.isTTY === true ? io.stderr : undefined;
    if (!terminal) {
      throw new UsageError(
        'refusing to create a recovery key that nobody would see: there is no terminal to show it on; pass --write-recovery-key FILE',
        command,
      );
    }
    return new KeyDelivery(undefined, terminal, command);
  }

  /** Writes the key file (create-only, 0600, fsynced). Call before the repository depends on the key. */
  async write(key: RecoveryKey, location: string): Promise<void> {
    if (this.file === undefined) return;
    let handle;
    try {
      handle = await open(this.file, 'wx', 0o600);
    } catch (error) {
      if (isSystemError(error) && error.code === 'EEXIST') throw refuseOverwrite(this.file, this.command);
      if (isSystemError(error)) throw new UsageError(`cannot create the recovery key file ${this.file}: ${error.message}`, this.command);
      throw error;
    }
    this.written = true;
    try {
      await handle.chmod(0o600);
      await handle.writeFile(keyFileText(key, location));
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Removes the key file again: the repository change it was for did not happen. */
  async abandon(): Promise<void> {
    if (this.file !== undefined && this.written) await rm(this.file, { force: true });
  }

  /** Shows the key on the terminal (when that is where it goes), with the warning. */
  show(key: RecoveryKey, out: Output): void {
    if (this.file !== undefined) {
      out.warn(`the recovery key was written to ${this.file} (mode 0600). Keep a copy offline, away from this computer: ${LOSS_WARNING}.`);
      return;
    }
    if (!this.terminal) return;
    out.clearProgress();
    this.terminal.write(
      [
        '',
        'Your recovery key (shown only this once; write it down or store it in a password manager):',
        '',
        `    ${key.text}`,
        '',
        `Anyone who has it can read your backups. And ${LOSS_WARNING}.`,
        '',
        '',
      ].join('\n'),
    );
  }
}

function refuseOverwrite(file: string, command: string): UsageError {
  return new UsageError(`refusing to overwrite ${file}: it already exists (a recovery key file is never replaced)`, command);
}

function keyFileText(key: RecoveryKey, location: string): string {
  return [
    '# Coffer recovery key',
    `# Repository: ${location}`,
    `# Created: ${new Date().toISOString()}`,
    '# Whoever holds this key can read every backup in the repository. Losing it',
    '# and every other unlock method loses the backups for good.',
    key.text,
    '',
  ].join('\n');
}
