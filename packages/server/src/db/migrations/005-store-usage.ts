import type { Migration } from '../migrate.ts';

/**
 * Each account's stored bytes as one row, kept in step with store_objects in
 * the same transactions: the quota check was a SUM over every object of the
 * account on each upload, which grows with the backup.
 */
export const storeUsage: Migration = {
  id: '005-store-usage',
  up: () => [
    `CREATE TABLE store_usage (
      account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
      bytes BIGINT NOT NULL
    )`,
    'INSERT INTO store_usage (account_id, bytes) SELECT account_id, SUM(size) FROM store_objects GROUP BY account_id',
  ],
};
