import { randomBytes } from 'node:crypto';
import { SERVER_SHARE_BYTES } from '@coffer/core';
import type { Queryable } from '../db/db.ts';
import { nowMs } from '../db/db.ts';

/**
 * Server shares of hybrid passkey slots: 32 random bytes per slot, bound to
 * one credential of the account. The routes release a share only in the
 * answer to a fresh user-verified assertion by that credential; deleting the
 * row revokes the slot for good (the client cannot rebuild its key without it).
 */
export interface ShareInfo {
  readonly slotId: string;
  readonly credentialId: string;
  readonly createdAt: number;
  readonly lastReleasedAt: number | null;
}

interface ShareRow {
  slot_id: string;
  credential_id: string;
  created_at: number;
  last_released_at: number | null;
}

const toInfo = (r: ShareRow): ShareInfo => ({ slotId: r.slot_id, credentialId: r.credential_id, createdAt: r.created_at, lastReleasedAt: r.last_released_at });

/** Creates the slot's share and returns it; undefined if the slot already has one. */
export async function createShare(db: Queryable, input: { accountId: string; slotId: string; credentialId: string }): Promise<Uint8Array | undefined> {
  const share = new Uint8Array(randomBytes(SERVER_SHARE_BYTES));
  const now = nowMs();
  const inserted = await db.run(
    `INSERT INTO passkey_shares (account_id, slot_id, credential_id, share, created_at, last_released_at)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    [input.accountId, input.slotId, input.credentialId, share, now, now],
  );
  return inserted === 1 ? share : undefined;
}

/** The slot's metadata (never the share), if the account has that slot. */
export async function shareInfo(db: Queryable, accountId: string, slotId: string): Promise<ShareInfo | undefined> {
  const row = await db.one<ShareRow>('SELECT slot_id, credential_id, created_at, last_released_at FROM passkey_shares WHERE account_id = ? AND slot_id = ?', [
    accountId,
    slotId,
  ]);
  return row && toInfo(row);
}

/**
 * Reads the share for release and stamps the release time, but only if the
 * slot is still bound to `credentialId` (it may have been deleted and
 * re-created for another credential since the ceremony began).
 */
export async function takeShareForRelease(db: Queryable, accountId: string, slotId: string, credentialId: string): Promise<Uint8Array | undefined> {
  const row = await db.one<{ share: Uint8Array }>(
    'UPDATE passkey_shares SET last_released_at = ? WHERE account_id = ? AND slot_id = ? AND credential_id = ? RETURNING share',
    [nowMs(), accountId, slotId, credentialId],
  );
  return row && new Uint8Array(row.share);
}

export async function listShares(db: Queryable, accountId: string): Promise<ShareInfo[]> {
  const rows = await db.all<ShareRow>(
    'SELECT slot_id, credential_id, created_at, last_released_at FROM passkey_shares WHERE account_id = ? ORDER BY created_at, slot_id',
    [accountId],
  );
  return rows.map(toInfo);
}

export async function deleteShare(db: Queryable, accountId: string, slotId: string): Promise<boolean> {
  return (await db.run('DELETE FROM passkey_shares WHERE account_id = ? AND slot_id = ?', [accountId, slotId])) === 1;
}
