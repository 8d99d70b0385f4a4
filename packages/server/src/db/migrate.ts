import type { Db, Dialect } from './db.ts';
import { MIGRATIONS } from './migrations/index.ts';

/**
 * One migration set for both engines. A migration returns its statements for
 * a dialect; the portable subset we write in is:
 *   - TEXT, BIGINT (timestamps in ms, counters), INTEGER 0/1 for booleans;
 *   - `bytes(d)` for binary columns (BLOB on SQLite, BYTEA on PostgreSQL);
 *   - `serial(d)` for an auto-increment primary key.
 * Applied in order, each in its own transaction, recorded in
 * `schema_migrations`. On PostgreSQL an advisory lock makes several server
 * instances starting at once apply each migration exactly once.
 */
export interface Migration {
  readonly id: string;
  up(dialect: Dialect): string[];
}

export const bytes = (d: Dialect): string => (d === 'sqlite' ? 'BLOB' : 'BYTEA');
export const serial = (d: Dialect): string =>
  d === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY';

/** An arbitrary constant: the advisory-lock key Coffer's migrations take on PostgreSQL. */
const MIGRATION_LOCK_KEY = 0x436f6666;

export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<string[]> {
  await db.run('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
  const applied: string[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      if (tx.dialect === 'postgres') await tx.run(`SELECT pg_advisory_xact_lock(${String(MIGRATION_LOCK_KEY)})`);
      if (await tx.one('SELECT id FROM schema_migrations WHERE id = ?', [migration.id])) return false;
      for (const statement of migration.up(tx.dialect)) await tx.run(statement);
      await tx.run('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)', [migration.id, Date.now()]);
      return true;
    });
    if (done) applied.push(migration.id);
  }
  return applied;
}
