import type { Queryable } from '../db/db.ts';

/** One stored body: its name in the account's namespace and the server's blob key. */
export interface CatalogueEntry {
  readonly blobKey: string;
  readonly accountId: string;
  readonly name: string;
  readonly size: number;
  readonly createdAt: number;
  readonly deletedAt: number | null;
  readonly purgeAfter: number | null;
}

interface Row {
  blob_key: string;
  account_id: string;
  name: string;
  size: number;
  created_at: number;
  deleted_at: number | null;
  purge_after: number | null;
}

const toEntry = (r: Row): CatalogueEntry => ({
  blobKey: r.blob_key,
  accountId: r.account_id,
  name: r.name,
  size: r.size,
  createdAt: r.created_at,
  deletedAt: r.deleted_at,
  purgeAfter: r.purge_after,
});

export async function liveObject(db: Queryable, accountId: string, name: string): Promise<CatalogueEntry | undefined> {
  const row = await db.one<Row>('SELECT * FROM store_objects WHERE account_id = ? AND name = ? AND deleted_at IS NULL', [accountId, name]);
  return row && toEntry(row);
}

/** Bytes the account occupies: live and soft-deleted bodies alike, until purged (store_usage, kept in step below). */
export async function usedBytes(db: Queryable, accountId: string): Promise<number> {
  const row = await db.one<{ bytes: number }>('SELECT bytes FROM store_usage WHERE account_id = ?', [accountId]);
  return row?.bytes ?? 0;
}

async function addUsage(db: Queryable, accountId: string, delta: number): Promise<void> {
  await db.run(
    `INSERT INTO store_usage (account_id, bytes) VALUES (?, ?)
     ON CONFLICT (account_id) DO UPDATE SET bytes = store_usage.bytes + excluded.bytes`,
    [accountId, delta],
  );
}

/**
 * Records a new live object. False when a live object of that name exists
 * already (the unique index decides, so racing writers cannot both win).
 */
export async function insertLive(db: Queryable, entry: { blobKey: string; accountId: string; name: string; size: number; now: number }): Promise<boolean> {
  const inserted = await db.run(
    `INSERT INTO store_objects (blob_key, account_id, name, size, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING`,
    [entry.blobKey, entry.accountId, entry.name, entry.size, entry.now],
  );
  if (inserted === 1) await addUsage(db, entry.accountId, entry.size);
  return inserted === 1;
}

/** Live objects whose names start with `prefix`, in name order, after `after`, at most `limit`. */
export async function listLive(db: Queryable, accountId: string, prefix: string, after: string, limit: number): Promise<CatalogueEntry[]> {
  // A range scan on the name instead of LIKE (a prefix may hold `_`, a LIKE wildcard); `~` sorts
  // after every character a name may contain.
  const rows = await db.all<Row>(
    `SELECT * FROM store_objects WHERE account_id = ? AND deleted_at IS NULL AND name > ? AND name >= ? AND name < ?
     ORDER BY name LIMIT ?`,
    [accountId, after, prefix, `${prefix}~`, limit],
  );
  return rows.map(toEntry);
}

/** Soft-deleted objects still inside their retention window, newest deletion first. */
export async function listDeleted(db: Queryable, accountId: string, prefix: string, limit: number): Promise<CatalogueEntry[]> {
  const rows = await db.all<Row>(
    `SELECT * FROM store_objects WHERE account_id = ? AND deleted_at IS NOT NULL AND name >= ? AND name < ?
     ORDER BY deleted_at DESC, name LIMIT ?`,
    [accountId, prefix, `${prefix}~`, limit],
  );
  return rows.map(toEntry);
}

/** Marks the live object deleted, restorable until `purgeAfter`. */
export async function softDelete(db: Queryable, accountId: string, name: string, input: { now: number; purgeAfter: number; by: string }): Promise<CatalogueEntry | undefined> {
  const row = await db.one<Row>(
    `UPDATE store_objects SET deleted_at = ?, purge_after = ?, deleted_by = ?
     WHERE account_id = ? AND name = ? AND deleted_at IS NULL RETURNING *`,
    [input.now, input.purgeAfter, input.by, accountId, name],
  );
  return row && toEntry(row);
}

/** Brings back the most recently deleted version of `name`; undefined if none is left or a live one exists. */
export async function undelete(db: Queryable, accountId: string, name: string): Promise<CatalogueEntry | undefined> {
  if (await liveObject(db, accountId, name)) return undefined;
  const latest = await db.one<Row>(
    'SELECT * FROM store_objects WHERE account_id = ? AND name = ? AND deleted_at IS NOT NULL ORDER BY deleted_at DESC LIMIT 1',
    [accountId, name],
  );
  if (!latest) return undefined;
  const row = await db.one<Row>(
    'UPDATE store_objects SET deleted_at = NULL, purge_after = NULL, deleted_by = NULL WHERE blob_key = ? AND deleted_at IS NOT NULL RETURNING *',
    [latest.blob_key],
  );
  return row && toEntry(row);
}

/** Removes the row of a purged or hard-deleted object (lock files hold no backup data) and its bytes from the usage. */
export async function forget(db: Queryable, blobKey: string): Promise<void> {
  const row = await db.one<{ account_id: string; size: number }>('DELETE FROM store_objects WHERE blob_key = ? RETURNING account_id, size', [blobKey]);
  if (row) await addUsage(db, row.account_id, -row.size);
}

/** Soft-deleted rows whose window has passed, oldest first. */
export async function purgeable(db: Queryable, now: number, limit: number): Promise<CatalogueEntry[]> {
  const rows = await db.all<Row>('SELECT * FROM store_objects WHERE deleted_at IS NOT NULL AND purge_after <= ? ORDER BY purge_after LIMIT ?', [now, limit]);
  return rows.map(toEntry);
}
