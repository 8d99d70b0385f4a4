import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../src/db/migrate.ts';
import { openPostgres } from '../src/db/postgres.ts';
import { openSqlite } from '../src/db/sqlite.ts';
import type { Db, Dialect } from '../src/db/db.ts';

/**
 * Both engines for the same tests. SQLite is a fresh file in a temp directory;
 * PostgreSQL is a fresh database on the server at COFFER_TEST_DATABASE_URL
 * (default: the machine's 127.0.0.1:5432, trust auth), dropped afterwards.
 * When PostgreSQL cannot be reached, its cases are skipped and say so.
 */
export const ADMIN_URL = process.env['COFFER_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let reachable: Promise<boolean> | undefined;
export function postgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      console.warn(`PostgreSQL is not reachable at ${ADMIN_URL}: its test cases are SKIPPED.`);
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

export interface TestDatabase {
  readonly db: Db;
  /** A connection string for another process or another pool (PostgreSQL), or the SQLite file path. */
  readonly location: string;
  open(): Db;
  drop(): Promise<void>;
}

export async function createTestDatabase(dialect: Dialect, options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-server-'));
    const location = join(dir, 'coffer.sqlite');
    const db = openSqlite(location);
    if (options.migrated !== false) await migrate(db);
    return {
      db,
      location,
      open: () => openSqlite(location),
      drop: async () => {
        await db.close().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `coffer_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const location = url.toString();
  const db = openPostgres(location);
  if (options.migrated !== false) await migrate(db);
  return {
    db,
    location,
    open: () => openPostgres(location),
    drop: async () => {
      await db.close().catch(() => undefined);
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** The engines to run a suite on: SQLite always, PostgreSQL when reachable. Use with describe.each. */
export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];
