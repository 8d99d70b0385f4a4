import { bytes, type Migration } from '../migrate.ts';

/**
 * The password vault (OPAQUE records, guess counters, pending logins) and
 * recovery-key sign-in (public keys and their single-use challenges).
 */
export const vault: Migration = {
  id: '003-vault',
  up: (d) => [
    // Exactly one row (id = 1), inserted by whichever instance gets there first and read back by all:
    // the OPAQUE server setup (OPRF seed and server key pair) and the key that names decoy counters.
    // Losing or replacing it makes every stored record useless, so it is created once and never rotated here.
    `CREATE TABLE vault_setup (
      id INTEGER PRIMARY KEY,
      server_setup TEXT NOT NULL,
      decoy_key ${bytes(d)} NOT NULL,
      created_at BIGINT NOT NULL
    )`,
    // One vault per account. record and share are NULL once erased (the guess limit ran out, or the
    // user removed the password); the row stays so the account keeps answering with 0 attempts left.
    // generation grows with every new password: a pending login is bound to the generation it started on.
    `CREATE TABLE vault_records (
      account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
      record TEXT,
      share ${bytes(d)},
      generation BIGINT NOT NULL,
      attempts_left INTEGER NOT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      erased_at BIGINT
    )`,
    'CREATE INDEX vault_records_attempts ON vault_records (attempts_left)',
    // Guess counters for names without a live vault (unknown usernames, accounts without a password),
    // keyed by HMAC(decoy_key, name) so probed names are not stored in clear. They count down exactly
    // like a real counter, so "attempts left" does not tell a real vault from a missing one.
    `CREATE TABLE vault_decoys (
      name_mac ${bytes(d)} PRIMARY KEY,
      attempts_left INTEGER NOT NULL,
      updated_at BIGINT NOT NULL
    )`,
    // Logins between the server's first message and the client's final one. The OPAQUE server state
    // never leaves the server; the client holds only the random id. account_id is NULL for a fake
    // login (no live vault), which proceeds identically and can never succeed.
    `CREATE TABLE vault_logins (
      id TEXT PRIMARY KEY,
      account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
      generation BIGINT,
      server_state TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL
    )`,
    'CREATE INDEX vault_logins_expiry ON vault_logins (expires_at)',
    'CREATE INDEX vault_logins_account ON vault_logins (account_id)',
    // Recovery-key sign-in keys: only the Ed25519 public key (format.md §7.6). One key, one account.
    `CREATE TABLE recovery_keys (
      id TEXT PRIMARY KEY,
      account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      public_key ${bytes(d)} NOT NULL UNIQUE,
      label TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      last_used_at BIGINT
    )`,
    'CREATE INDEX recovery_keys_account ON recovery_keys (account_id)',
    // Single-use, expiring challenges for recovery-key signatures, bound to a purpose and, for
    // register and step-up, to the session that asked.
    `CREATE TABLE recovery_challenges (
      challenge TEXT PRIMARY KEY,
      purpose TEXT NOT NULL,
      session_id TEXT,
      created_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL
    )`,
    'CREATE INDEX recovery_challenges_expiry ON recovery_challenges (expires_at)',
  ],
};
