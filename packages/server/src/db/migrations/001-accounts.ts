import { bytes, serial, type Migration } from '../migrate.ts';

/** Accounts, sessions (cookie and bearer) and the per-account security log. */
export const accounts: Migration = {
  id: '001-accounts',
  up: (d) => [
    `CREATE TABLE accounts (
      id TEXT PRIMARY KEY,
      username TEXT UNIQUE,
      user_handle ${bytes(d)} NOT NULL UNIQUE,
      display_name TEXT NOT NULL,
      created_at BIGINT NOT NULL
    )`,
    // Only a SHA-256 of the token is stored: a database leak yields no usable session.
    `CREATE TABLE sessions (
      id TEXT PRIMARY KEY,
      token_hash ${bytes(d)} NOT NULL UNIQUE,
      account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      kind TEXT NOT NULL,
      method TEXT NOT NULL,
      device TEXT NOT NULL,
      client_address TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      last_seen_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL,
      revoked_at BIGINT,
      step_up_at BIGINT,
      step_up_method TEXT
    )`,
    'CREATE INDEX sessions_account ON sessions (account_id)',
    `CREATE TABLE security_events (
      id ${serial(d)},
      account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      type TEXT NOT NULL,
      detail TEXT NOT NULL,
      device TEXT NOT NULL,
      client_address TEXT NOT NULL,
      flags TEXT NOT NULL,
      created_at BIGINT NOT NULL
    )`,
    'CREATE INDEX security_events_account ON security_events (account_id, id)',
  ],
};
