/**
 * The filesystem calls LocalStorage makes, gathered in one object so tests can
 * inject failures the real disk will not produce on demand (ENOSPC on fsync,
 * EACCES as root) without a tmpfs or fault-injection tool.
 */
import * as fs from 'node:fs/promises';

export type LocalFs = Pick<typeof fs, 'open' | 'link' | 'rename' | 'unlink' | 'mkdir' | 'readdir' | 'stat' | 'readFile'>;

export const nodeFs: LocalFs = fs;

/** Writes all of `bytes` at `position` (a positional write may write less than asked). */
export async function writeFully(handle: fs.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}
