import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import type { Db, Queryable, SqlValue } from './db.ts';
import { Mutex } from './mutex.ts';

/**
 * SQLite through Node's built-in `node:sqlite` (no native addon to compile).
 * One connection; WAL so readers never block the writer; synchronous=FULL so a
 * committed vault decrement survives a power cut or a kill before the reply.
 *
 * `node:sqlite` is synchronous, so a single statement can never interleave with
 * another. A transaction spans awaits, though, so every call goes through one
 * mutex: nothing else can run inside an open transaction by accident.
 */
export function openSqlite(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA foreign_keys = ON');
  db.exec('PRAGMA busy_timeout = 5000');
  const mutex = new Mutex();

  const direct: Queryable = {
    dialect: 'sqlite',
    all: <T>(sql: string, params: readonly SqlValue[] = []) => Promise.resolve(allRows<T>(db, sql, params)),
    one: <T>(sql: string, params: readonly SqlValue[] = []) => Promise.resolve(allRows<T>(db, sql, params)[0]),
    run: (sql: string, params: readonly SqlValue[] = []) => Promise.resolve(Number(db.prepare(sql).run(...toInputs(params)).changes)),
  };
  const locked = <T>(fn: () => Promise<T>) => mutex.run(fn);

  return {
    dialect: 'sqlite',
    all: (sql, params) => locked(() => direct.all(sql, params)),
    one: (sql, params) => locked(() => direct.one(sql, params)),
    run: (sql, params) => locked(() => direct.run(sql, params)),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      locked(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(direct);
          db.exec('COMMIT');
          return result;
        } catch (error) {
          if (db.isTransaction) db.exec('ROLLBACK');
          throw error;
        }
      }),
    ping: () => locked(() => direct.one('SELECT 1').then(() => undefined)),
    close: () =>
      locked(() => {
        db.close();
        return Promise.resolve();
      }),
  };
}

function toInputs(params: readonly SqlValue[]): SQLInputValue[] {
  return params as SQLInputValue[];
}

function allRows<T>(db: DatabaseSync, sql: string, params: readonly SqlValue[]): T[] {
  return db.prepare(sql).all(...toInputs(params)) as T[];
}
