import type { Queryable } from '../db/db.ts';
import { nowMs } from '../db/db.ts';

/** A registered WebAuthn credential of an account. */
export interface Passkey {
  /** The credential id, base64url. */
  readonly id: string;
  readonly accountId: string;
  /** The COSE public key as the authenticator sent it. */
  readonly publicKey: Uint8Array;
  readonly alg: number;
  readonly counter: number;
  /** BE flag at registration; an assertion with another value is refused. */
  readonly backupEligible: boolean;
  readonly backedUp: boolean;
  readonly transports: string[];
  readonly aaguid: string;
  readonly name: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
}

interface PasskeyRow {
  id: string;
  account_id: string;
  public_key: Uint8Array;
  alg: number;
  counter: number;
  backup_eligible: number;
  backed_up: number;
  transports: string;
  aaguid: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

const toPasskey = (r: PasskeyRow): Passkey => ({
  id: r.id,
  accountId: r.account_id,
  publicKey: new Uint8Array(r.public_key),
  alg: r.alg,
  counter: r.counter,
  backupEligible: r.backup_eligible === 1,
  backedUp: r.backed_up === 1,
  transports: JSON.parse(r.transports) as string[],
  aaguid: r.aaguid,
  name: r.name,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

/** Inserts a new credential; false if the credential id is already registered (to any account). */
export async function insertPasskey(db: Queryable, p: Omit<Passkey, 'lastUsedAt'>): Promise<boolean> {
  const inserted = await db.run(
    `INSERT INTO passkeys (id, account_id, public_key, alg, counter, backup_eligible, backed_up, transports, aaguid, name, created_at, last_used_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING`,
    [p.id, p.accountId, p.publicKey, p.alg, p.counter, p.backupEligible ? 1 : 0, p.backedUp ? 1 : 0, JSON.stringify(p.transports), p.aaguid, p.name, p.createdAt],
  );
  return inserted === 1;
}

export async function passkeyById(db: Queryable, id: string): Promise<Passkey | undefined> {
  const row = await db.one<PasskeyRow>('SELECT * FROM passkeys WHERE id = ?', [id]);
  return row && toPasskey(row);
}

export async function listPasskeys(db: Queryable, accountId: string): Promise<Passkey[]> {
  const rows = await db.all<PasskeyRow>('SELECT * FROM passkeys WHERE account_id = ? ORDER BY created_at, id', [accountId]);
  return rows.map(toPasskey);
}

export async function renamePasskey(db: Queryable, accountId: string, id: string, name: string): Promise<boolean> {
  return (await db.run('UPDATE passkeys SET name = ? WHERE id = ? AND account_id = ?', [name, id, accountId])) === 1;
}

/** Deletes one of the account's passkeys (its shares go with it, by cascade). */
export async function deletePasskey(db: Queryable, accountId: string, id: string): Promise<boolean> {
  // Shares are deleted explicitly too, so revocation does not depend on the engine enforcing foreign keys.
  await db.run('DELETE FROM passkey_shares WHERE credential_id = ? AND account_id = ?', [id, accountId]);
  return (await db.run('DELETE FROM passkeys WHERE id = ? AND account_id = ?', [id, accountId])) === 1;
}

/**
 * Stores what a *verified* assertion reported: its counter, backup state and
 * the time. Only ever moves the counter forward (or keeps 0 for authenticators
 * without a counter), so a concurrent older assertion cannot roll it back;
 * false means the stored counter moved meanwhile and the caller must refuse.
 */
export async function recordAssertion(db: Queryable, id: string, seen: { counter: number; backedUp: boolean }): Promise<boolean> {
  const changed = await db.run(
    `UPDATE passkeys SET counter = ?, backed_up = ?, last_used_at = ?
     WHERE id = ? AND (counter < ? OR (counter = 0 AND ? = 0))`,
    [seen.counter, seen.backedUp ? 1 : 0, nowMs(), id, seen.counter, seen.counter],
  );
  return changed === 1;
}
