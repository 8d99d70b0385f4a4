import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { Db, Queryable, SqlValue } from './db.ts';
import { Mutex } from './mutex.ts';
import { WalSync } from './wal-sync.ts';

/**
 * SQLite through Node's built-in `node:sqlite` (no native addon to compile).
 * One connection, in WAL mode so readers never block the writer. Nothing is
 * answered before the writes it follows are on disk, so a committed vault
 * decrement survives a power cut or a kill before the reply: the WAL is
 * fsynced after each commit, in the thread pool and shared by concurrent
 * commits (see wal-sync.ts), instead of inside COMMIT on the event loop.
 *
 * `node:sqlite` is synchronous, so a single statement can never interleave with
 * another. A transaction spans awaits, though, so every call goes through one
 * mutex: nothing else can run inside an open transaction by accident.
 */
export function openSqlite(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  const mode = (db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode: string }).journal_mode;
  // Only a WAL on disk can be synced by us; otherwise (in memory, or a file system without WAL
  // support) SQLite syncs inside COMMIT as before.
  const wal = mode === 'wal' ? new WalSync(`${path}-wal`) : undefined;
  db.exec(wal ? 'PRAGMA synchronous = NORMAL' : 'PRAGMA synchronous = FULL');
  db.exec('PRAGMA foreign_keys = ON');
  db.exec('PRAGMA busy_timeout = 5000');
  const mutex = new Mutex();
  const statement = statementCache(db);

  const direct: Queryable = {
    dialect: 'sqlite',
    all: <T>(sql: string, params: readonly SqlValue[] = []) => Promise.resolve(statement(sql).all(...toInputs(params)) as T[]),
    one: <T>(sql: string, params: readonly SqlValue[] = []) => Promise.resolve(statement(sql).all(...toInputs(params))[0] as T | undefined),
    run: (sql: string, params: readonly SqlValue[] = []) => Promise.resolve(Number(statement(sql).run(...toInputs(params)).changes)),
  };

  /**
   * Runs `fn` under the mutex, then waits — outside it, so others go on — until
   * its writes and every earlier one are durable. Failures wait too: an error
   * can tell of a row (a name taken) that a power cut could still take back.
   */
  const durably = async <T>(fn: () => Promise<T>, writes: boolean): Promise<T> => {
    let mark = 0;
    const outcome = await mutex.run(async () => {
      try {
        return { value: await fn() };
      } catch (error) {
        // A failed statement or a rolled-back transaction wrote nothing.
        writes = false;
        return { error };
      } finally {
        mark = wal?.mark(writes) ?? 0;
      }
    });
    await wal?.settle(mark);
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  };

  return {
    dialect: 'sqlite',
    all: (sql, params) => durably(() => direct.all(sql, params), mayWrite(sql)),
    one: (sql, params) => durably(() => direct.one(sql, params), mayWrite(sql)),
    run: (sql, params) => durably(() => direct.run(sql, params), mayWrite(sql)),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      durably(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(direct);
          db.exec('COMMIT');
          return result;
        } catch (error) {
          if (db.isTransaction) db.exec('ROLLBACK');
          throw error;
        }
      }, true),
    ping: () => durably(() => direct.one('SELECT 1').then(() => undefined), false),
    close: () =>
      mutex.run(async () => {
        await wal?.close();
        db.close();
      }),
  };
}

/** Anything but a plain SELECT may change the database (INSERT … RETURNING comes through `one` too). */
const mayWrite = (sql: string): boolean => !/^\s*SELECT\b/i.test(sql);

/**
 * Prepared statements by SQL text: preparing parses and plans the SQL, and the
 * store runs the same handful of statements for every object. The SQL comes
 * from the code, not from requests, so the set is small; the bound is a guard.
 */
function statementCache(db: DatabaseSync, max = 500): (sql: string) => StatementSync {
  const cache = new Map<string, StatementSync>();
  return (sql) => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      if (cache.size >= max) cache.clear();
      cache.set(sql, statement);
    }
    return statement;
  };
}

function toInputs(params: readonly SqlValue[]): SQLInputValue[] {
  return params as SQLInputValue[];
}
