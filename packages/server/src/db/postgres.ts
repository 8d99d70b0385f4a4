import pg from 'pg';
import { numberedPlaceholders, type Db, type Queryable, type SqlValue } from './db.ts';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * PostgreSQL through `pg`'s pool. BIGINT (int8) columns are parsed as numbers:
 * they hold millisecond timestamps and counters, far below 2^53. BYTEA comes
 * back as a Buffer, which is a Uint8Array.
 */
function parserFor(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === INT8_OID || oid === NUMERIC_OID) return Number;
  return (pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => (value: string) => unknown)(oid, format);
}

export function openPostgres(connectionString: string, options: { max?: number } = {}): Db {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    types: { getTypeParser: parserFor as typeof pg.types.getTypeParser },
  });
  // An idle client that errors (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);

  const on = (client: pg.Pool | pg.PoolClient): Queryable => ({
    dialect: 'postgres',
    all: async <T>(sql: string, params: readonly SqlValue[] = []) =>
      (await client.query(numberedPlaceholders(sql), params as unknown[])).rows as T[],
    one: async <T>(sql: string, params: readonly SqlValue[] = []) =>
      (await client.query(numberedPlaceholders(sql), params as unknown[])).rows[0] as T | undefined,
    run: async (sql: string, params: readonly SqlValue[] = []) =>
      (await client.query(numberedPlaceholders(sql), params as unknown[])).rowCount ?? 0,
  });

  return {
    ...on(pool),
    transaction: async <T>(fn: (tx: Queryable) => Promise<T>) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(on(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    ping: async () => {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  };
}
