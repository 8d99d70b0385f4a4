import { bytes, type Migration } from '../migrate.ts';

/**
 * Passkeys (WebAuthn credentials), the single-use ceremony challenges, the
 * server shares of hybrid passkey slots, and the key that makes fake
 * credential ids for unknown usernames.
 */
export const passkeys: Migration = {
  id: '002-passkeys',
  up: (d) => [
    // id is the credential id (base64url), unique across all accounts: one credential never serves two accounts.
    // backup_eligible is fixed at registration and checked on every assertion; backed_up may change.
    `CREATE TABLE passkeys (
      id TEXT PRIMARY KEY,
      account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      public_key ${bytes(d)} NOT NULL,
      alg INTEGER NOT NULL,
      counter BIGINT NOT NULL,
      backup_eligible INTEGER NOT NULL,
      backed_up INTEGER NOT NULL,
      transports TEXT NOT NULL,
      aaguid TEXT NOT NULL,
      name TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      last_used_at BIGINT
    )`,
    'CREATE INDEX passkeys_account ON passkeys (account_id)',
    // A challenge is consumed by one DELETE … RETURNING: whichever request deletes the row owns it.
    // The other columns bind it: to a purpose, a session, a credential and slot, or a pending registration.
    `CREATE TABLE webauthn_challenges (
      challenge TEXT PRIMARY KEY,
      purpose TEXT NOT NULL,
      account_id TEXT,
      session_id TEXT,
      credential_id TEXT,
      slot_id TEXT,
      pending TEXT,
      created_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL
    )`,
    'CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at)',
    // One share per hybrid slot, bound to one credential; deleting the credential deletes its shares (the slot is dead anyway).
    `CREATE TABLE passkey_shares (
      account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      slot_id TEXT NOT NULL,
      credential_id TEXT NOT NULL REFERENCES passkeys(id) ON DELETE CASCADE,
      share ${bytes(d)} NOT NULL,
      created_at BIGINT NOT NULL,
      last_released_at BIGINT,
      PRIMARY KEY (account_id, slot_id)
    )`,
    'CREATE INDEX passkey_shares_credential ON passkey_shares (credential_id)',
    `CREATE TABLE webauthn_keys (
      name TEXT PRIMARY KEY,
      key_bytes ${bytes(d)} NOT NULL,
      created_at BIGINT NOT NULL
    )`,
  ],
};
