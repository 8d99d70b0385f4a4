export { buildApp, type BuildOptions } from './app.ts';
export { loadConfig, type ServerConfig } from './config.ts';
export type { Db, Dialect, Queryable, SqlValue } from './db/db.ts';
export { openDatabase } from './db/open.ts';
export { openSqlite } from './db/sqlite.ts';
export { openPostgres } from './db/postgres.ts';
export { migrate } from './db/migrate.ts';
export { createAccount, type Account } from './accounts/accounts.ts';
export { createSession, type Session } from './accounts/sessions.ts';
