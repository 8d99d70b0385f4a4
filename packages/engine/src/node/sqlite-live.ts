/**
 * Live SQLite databases (format.md §9.12, "Live databases"). Backup reads a database file as it
 * lies on disk, like any file. If the app writes to it meanwhile, the copy can hold pages from
 * before and after one transaction: a torn database that SQLite may call corrupt. Two answers:
 *
 * - after reading a file, `changedWhileRead` says whether it changed since it was listed (size
 *   or mtime), or whether an SQLite rollback journal beside it shows a write transaction in
 *   progress; backup reports that as a warning naming the file, so nobody trusts a torn copy
 *   silently;
 * - `copyLiveDatabase` makes a transactionally consistent copy with SQLite's online backup API
 *   (node:sqlite's backup(), all pages in one step under one read transaction), for a caller that
 *   can point the backup at the copy. The copy is page for page the database as of one commit,
 *   with the write-ahead log's committed pages folded in, so it deduplicates against earlier
 *   copies page by page.
 */
import type { BigIntStats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { DatabaseSync, backup } from 'node:sqlite';
import type { SqliteLayout } from '../chunker/sqlite.ts';

export interface ListedFile {
  readonly path: string;
  /** Size and mtime (ns since the epoch, decimal) as the file was listed, before reading. */
  readonly size: number;
  readonly mtime: string;
}

/**
 * A warning for a file that changed while it was being backed up, or undefined. `sqlite` is the
 * layout the chunker recognised (undefined for other files), which makes the warning specific.
 * `now` is an lstat of the file taken after it was read, if the caller has one (an Error if it
 * failed): a backup takes those in bulk, as the walk takes its own (backup-walk.ts, statAll).
 */
export async function changedWhileRead(file: ListedFile, sqlite: SqliteLayout | undefined, now?: BigIntStats | Error): Promise<string | undefined> {
  const after = now ?? (await lstat(file.path, { bigint: true }).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))));
  const changed = after instanceof Error || Number(after.size) !== file.size || String(after.mtimeNs) !== file.mtime;
  const journal = sqlite?.kind === 'database' ? await lstat(`${file.path}-journal`).catch(() => undefined) : undefined;
  const writing = journal !== undefined && journal.size > 0;
  if (!changed && !writing) return undefined;
  if (sqlite === undefined) return 'changed while it was being backed up: the snapshot holds the bytes as read, possibly a mix of old and new';
  const why = writing ? 'a write transaction was in progress (its rollback journal is not empty)' : 'it changed while it was being backed up';
  return (
    `an SQLite ${sqlite.kind === 'wal' ? 'write-ahead log' : 'database'} in use: ${why}, so the copy in this snapshot may be torn ` +
    '(pages from before and after one transaction). Close the app that writes it, or back up a copy made with SQLite\'s backup API ' +
    '(sqlite3 DB ".backup COPY", or copyLiveDatabase in @coffer/engine/node), then run backup again'
  );
}

/** Pages per backup step: all of them, so the copy is made under one read transaction and never restarts. */
const ALL_PAGES = 2 ** 31 - 1;

/**
 * Copies a database that may be in use to `destination` (overwritten) as of one commit, through
 * SQLite's online backup API. Returns the number of pages copied. The source is opened read-only;
 * a writer waits at most for the copy of one file's pages.
 */
export async function copyLiveDatabase(source: string, destination: string): Promise<number> {
  const db = new DatabaseSync(source, { readOnly: true });
  try {
    return await backup(db, destination, { rate: ALL_PAGES });
  } finally {
    db.close();
  }
}
