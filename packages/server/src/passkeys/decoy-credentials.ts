import { createHmac, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/db.ts';
import { nowMs } from '../db/db.ts';
import { normalizeUsername } from '../accounts/accounts.ts';

/**
 * Sign-in options for a named user list that user's credential ids. For a
 * name with no passkeys (no such account, or none registered) an empty list
 * would tell a stranger so, and a random one would change on every request;
 * instead the list holds one decoy id derived from the name with a key kept in
 * the database: stable across requests, restarts and instances, and useless
 * (no credential has it). Known passkey-RP bug class: GHSA-875x-g8p7-5w27.
 */
const KEY_NAME = 'decoy-credential-ids';
const DECOY_ID_BYTES = 32;

let cached: { db: Queryable; key: Uint8Array } | undefined;

async function decoyKey(db: Queryable): Promise<Uint8Array> {
  if (cached?.db === db) return cached.key;
  // Several instances may start at once: the first insert wins and everyone reads it back.
  await db.run('INSERT INTO webauthn_keys (name, key_bytes, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [KEY_NAME, new Uint8Array(randomBytes(32)), nowMs()]);
  const row = await db.one<{ key_bytes: Uint8Array }>('SELECT key_bytes FROM webauthn_keys WHERE name = ?', [KEY_NAME]);
  if (!row) throw new Error('the decoy key row vanished');
  cached = { db, key: new Uint8Array(row.key_bytes) };
  return cached.key;
}

export async function decoyCredentialId(db: Queryable, username: string): Promise<string> {
  const mac = createHmac('sha256', await decoyKey(db)).update(normalizeUsername(username)).digest();
  return mac.subarray(0, DECOY_ID_BYTES).toString('base64url');
}
