import type { Migration } from '../migrate.ts';

/**
 * The append-only backup store's catalogue. Every body ever accepted has a
 * row; a row is *live* until it is soft-deleted (or superseded, for the
 * versioned objects), and stays restorable until `purge_after`. Only one live
 * row per (account, name): the partial unique index makes create-only writes
 * atomic on both engines, even with several server instances. Names sort
 * bytewise on both (PostgreSQL's "C" collation; SQLite's default), which the
 * paged listing relies on.
 */
export const store: Migration = {
  id: '004-store',
  up: (d) => [
    `CREATE TABLE store_objects (
      blob_key TEXT PRIMARY KEY,
      account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      name TEXT ${d === 'postgres' ? 'COLLATE "C" ' : ''}NOT NULL,
      size BIGINT NOT NULL,
      created_at BIGINT NOT NULL,
      deleted_at BIGINT,
      purge_after BIGINT,
      deleted_by TEXT
    )`,
    'CREATE UNIQUE INDEX store_objects_live ON store_objects (account_id, name) WHERE deleted_at IS NULL',
    'CREATE INDEX store_objects_listing ON store_objects (account_id, deleted_at, name)',
    'CREATE INDEX store_objects_purge ON store_objects (purge_after)',
  ],
};
