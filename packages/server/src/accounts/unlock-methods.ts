import type { Queryable } from '../db/db.ts';

/**
 * An account's unlock methods: its passkeys, its vault password and its
 * recovery-key sign-in keys. Removing one is refused when it is the last
 * (E_LAST_UNLOCK_METHOD), so every removal path asks `countUnlockMethods`
 * inside the same transaction as the DELETE, after `lockAccountForUnlockChange`.
 *
 * To add a method: append one source below. A source whose table does not
 * exist yet (its migration has not run, or the feature is not built) counts 0,
 * so areas can land in any order.
 */
interface UnlockMethodSource {
  readonly table: string;
  /** One `?`, the account id; answers a single row with a numeric column `n`. */
  readonly countSql: string;
}

const SOURCES: readonly UnlockMethodSource[] = [
  { table: 'passkeys', countSql: 'SELECT COUNT(*) AS n FROM passkeys WHERE account_id = ?' },
  // Vault and recovery-key area (migration 003): an erased vault (record NULL) no longer signs anyone in.
  { table: 'vault_records', countSql: 'SELECT COUNT(*) AS n FROM vault_records WHERE account_id = ? AND record IS NOT NULL' },
  { table: 'recovery_keys', countSql: 'SELECT COUNT(*) AS n FROM recovery_keys WHERE account_id = ?' },
];

/** How many ways the account has to sign in and unlock, over every source whose table exists. */
export async function countUnlockMethods(db: Queryable, accountId: string): Promise<number> {
  let total = 0;
  for (const source of SOURCES) {
    if (!(await tableExists(db, source.table))) continue;
    const row = await db.one<{ n: number | string }>(source.countSql, [accountId]);
    total += Number(row?.n ?? 0);
  }
  return total;
}

/**
 * Serializes unlock-method changes of one account. Two removals running at
 * once would each count two methods and together leave none. SQLite
 * transactions already exclude each other (BEGIN IMMEDIATE); PostgreSQL's
 * READ COMMITTED does not, so there the account row is locked until commit.
 */
export async function lockAccountForUnlockChange(tx: Queryable, accountId: string): Promise<void> {
  if (tx.dialect === 'postgres') await tx.one('SELECT id FROM accounts WHERE id = ? FOR UPDATE', [accountId]);
}

async function tableExists(db: Queryable, table: string): Promise<boolean> {
  const row =
    db.dialect === 'sqlite'
      ? await db.one("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", [table])
      : await db.one('SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?', [table]);
  return row !== undefined;
}
