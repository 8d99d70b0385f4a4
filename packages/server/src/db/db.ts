/**
 * The persistence seam: one small interface over SQLite (`node:sqlite`, the
 * default) and PostgreSQL (`pg`). Stores write plain SQL with `?` placeholders
 * and portable types (see migrations/README in migrate.ts); each driver adapts
 * placeholders, blobs and 64-bit integers so rows look the same on both.
 *
 * Why not an ORM or query builder: the queries are few and hand-checked for
 * atomicity (the vault counter, single-use challenges), and plain SQL keeps
 * what runs on each engine visible in one place.
 */
export type SqlValue = string | number | Uint8Array | null;
export type Dialect = 'sqlite' | 'postgres';

export interface Queryable {
  readonly dialect: Dialect;
  /** All rows. Column names as written in the SQL; BIGINT columns come back as numbers, BLOB/BYTEA as Uint8Array. */
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row, if any. */
  one<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement and returns how many rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface Db extends Queryable {
  /**
   * Runs `fn` in one transaction: committed (durably — SQLite fsyncs its WAL
   * after the commit, see sqlite.ts and wal-sync.ts; PostgreSQL with its default
   * fsync) before the promise resolves, rolled back if `fn` throws. Nothing
   * else runs on the same connection meanwhile.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** A cheap round trip, for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Rewrites `?` placeholders as `$1, $2, ...` (PostgreSQL). Our SQL never has `?` inside string literals. */
export function numberedPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${String(++n)}`);
}

/** Milliseconds since the epoch: every timestamp column is a BIGINT of these. */
export function nowMs(): number {
  return Date.now();
}
