/**
 * The vault password, from (first found wins) $COFFER_PASSWORD_FILE,
 * $COFFER_PASSWORD, or a prompt when stdin and stderr are a terminal.
 * It goes only into OPAQUE on this machine; the server never sees it.
 */
import { readFile } from 'node:fs/promises';
import { UsageError, isSystemError } from './exit-codes.ts';
import type { Io } from './io.ts';
import { promptHidden } from './prompt.ts';

export function passwordGiven(io: Io): boolean {
  return Boolean(io.env.COFFER_PASSWORD_FILE) || Boolean(io.env.COFFER_PASSWORD);
}

export async function readPassword(io: Io, purpose: string, confirm = false): Promise<string> {
  const fileName = io.env.COFFER_PASSWORD_FILE;
  if (fileName) {
    try {
      return (await readFile(fileName, 'utf8')).replace(/\r?\n$/, '');
    } catch (error) {
      if (isSystemError(error)) throw new UsageError(`cannot read the password from COFFER_PASSWORD_FILE (${fileName}): ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
      throw error;
    }
  }
  if (io.env.COFFER_PASSWORD) return io.env.COFFER_PASSWORD;
  if (io.stdin.isTTY === true && io.stderr.isTTY === true) {
    const first = await promptHidden(io, `${purpose}: `);
    if (confirm && (await promptHidden(io, 'Repeat it: ')) !== first) throw new UsageError('the two passwords differ');
    return first;
  }
  throw new UsageError(`${purpose} is needed: set COFFER_PASSWORD or COFFER_PASSWORD_FILE`);
}
