import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/db.ts';
import { nowMs } from '../db/db.ts';

/** Recovery-key sign-in keys: the Ed25519 public key only, one account per key. */
export interface RecoveryKeyRecord {
  readonly id: string;
  readonly accountId: string;
  readonly publicKey: Uint8Array;
  readonly label: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
}

interface Row {
  id: string;
  account_id: string;
  public_key: Uint8Array;
  label: string;
  created_at: number;
  last_used_at: number | null;
}

const toRecord = (r: Row): RecoveryKeyRecord => ({
  id: r.id,
  accountId: r.account_id,
  publicKey: new Uint8Array(r.public_key),
  label: r.label,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

/** Adds a key; undefined when that public key already belongs to an account (this one or another). */
export async function addRecoveryKey(db: Queryable, accountId: string, publicKey: Uint8Array, label: string): Promise<RecoveryKeyRecord | undefined> {
  const row: Row = { id: randomUUID(), account_id: accountId, public_key: publicKey, label, created_at: nowMs(), last_used_at: null };
  const inserted = await db.run(
    'INSERT INTO recovery_keys (id, account_id, public_key, label, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING',
    [row.id, row.account_id, row.public_key, row.label, row.created_at],
  );
  return inserted === 1 ? toRecord(row) : undefined;
}

export async function recoveryKeyByPublicKey(db: Queryable, publicKey: Uint8Array): Promise<RecoveryKeyRecord | undefined> {
  const row = await db.one<Row>('SELECT * FROM recovery_keys WHERE public_key = ?', [publicKey]);
  return row && toRecord(row);
}

export async function recoveryKeyById(db: Queryable, accountId: string, id: string): Promise<RecoveryKeyRecord | undefined> {
  const row = await db.one<Row>('SELECT * FROM recovery_keys WHERE id = ? AND account_id = ?', [id, accountId]);
  return row && toRecord(row);
}

export async function listRecoveryKeys(db: Queryable, accountId: string): Promise<RecoveryKeyRecord[]> {
  return (await db.all<Row>('SELECT * FROM recovery_keys WHERE account_id = ? ORDER BY created_at', [accountId])).map(toRecord);
}

export async function touchRecoveryKey(db: Queryable, id: string): Promise<void> {
  await db.run('UPDATE recovery_keys SET last_used_at = ? WHERE id = ?', [nowMs(), id]);
}

export async function deleteRecoveryKey(db: Queryable, accountId: string, id: string): Promise<boolean> {
  return (await db.run('DELETE FROM recovery_keys WHERE id = ? AND account_id = ?', [id, accountId])) === 1;
}

/** What the API shows of a key: never the public key itself (it identifies the account at sign-in). */
export function recoveryKeyInfo(key: RecoveryKeyRecord): { id: string; label: string; createdAt: number; lastUsedAt: number | null } {
  return { id: key.id, label: key.label, createdAt: key.createdAt, lastUsedAt: key.lastUsedAt };
}
