/**
 * The recovery key that unlocks a repository, from (first found wins):
 * --recovery-key-file FILE, $COFFER_RECOVERY_KEY_FILE, $COFFER_RECOVERY_KEY,
 * or a prompt when stdin and stderr are a terminal. A key file may hold
 * comment lines starting with `#` (the files `init` writes do).
 */
import { readFile } from 'node:fs/promises';
import { CofferError, type RecoveryKey, parseRecoveryKey } from '@coffer/core';
import { UsageError, isSystemError } from './exit-codes.ts';
import type { Io } from './io.ts';
import { promptHidden } from './prompt.ts';

export interface KeySource {
  readonly text: string;
  /** For messages: "--recovery-key-file /x", "COFFER_RECOVERY_KEY"… never the key. */
  readonly from: string;
}

export async function findRecoveryKeyText(io: Io, flagFile: string | undefined): Promise<KeySource> {
  const file = flagFile ?? (io.env.COFFER_RECOVERY_KEY_FILE || undefined);
  if (file !== undefined) {
    const from = flagFile === undefined ? `COFFER_RECOVERY_KEY_FILE (${file})` : `--recovery-key-file ${file}`;
    try {
      return { text: stripComments(await readFile(file, 'utf8')), from };
    } catch (error) {
      if (isSystemError(error)) throw new UsageError(`cannot read the recovery key from ${from}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
      throw error;
    }
  }
  const inline = io.env.COFFER_RECOVERY_KEY;
  if (inline !== undefined && inline !== '') return { text: inline, from: 'COFFER_RECOVERY_KEY' };
  if (io.stdin.isTTY === true && io.stderr.isTTY === true) return { text: await promptHidden(io, 'Recovery key: '), from: 'the prompt' };
  throw new UsageError('this command needs the recovery key: set COFFER_RECOVERY_KEY or COFFER_RECOVERY_KEY_FILE, or pass --recovery-key-file FILE');
}

export async function readRecoveryKey(io: Io, flagFile: string | undefined): Promise<{ key: RecoveryKey; from: string }> {
  const source = await findRecoveryKeyText(io, flagFile);
  try {
    return { key: parseRecoveryKey(source.text), from: source.from };
  } catch (error) {
    if (error instanceof CofferError && error.code === 'E_RECOVERY_KEY_TYPO') {
      throw new CofferError(error.code, `the recovery key from ${source.from} is mistyped: ${error.message}`, { cause: error });
    }
    if (error instanceof CofferError && error.code === 'E_RECOVERY_KEY_FORMAT') {
      throw new CofferError(error.code, `the recovery key from ${source.from} is not a recovery key (mistyped or incomplete?): ${error.message}`, { cause: error });
    }
    throw error;
  }
}

function stripComments(text: string): string {
  return text
    .split(/\r?\n/)
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
}
