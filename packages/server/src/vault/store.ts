import type { Queryable } from '../db/db.ts';
import { nowMs } from '../db/db.ts';

/**
 * The vault's SQL, one statement per step. The guess counter is only ever
 * changed by a single conditional UPDATE … RETURNING, so concurrent logins on
 * any number of instances serialize on the row and can never take more
 * guesses than are left (PostgreSQL re-checks the WHERE after waiting on the
 * row lock; SQLite runs one writer at a time).
 */

export interface LiveGuess {
  readonly accountId: string;
  readonly record: string;
  readonly generation: number;
  /** After this guess. */
  readonly attemptsLeft: number;
}

/** Takes one guess from the account's live vault; undefined when there is no live record or no guess left. */
export async function takeGuess(tx: Queryable, accountId: string): Promise<LiveGuess | undefined> {
  const row = await tx.one<{ record: string; generation: number; attempts_left: number }>(
    `UPDATE vault_records SET attempts_left = attempts_left - 1, updated_at = ?
     WHERE account_id = ? AND record IS NOT NULL AND attempts_left > 0
     RETURNING record, generation, attempts_left`,
    [nowMs(), accountId],
  );
  return row && { accountId, record: row.record, generation: row.generation, attemptsLeft: row.attempts_left };
}

/**
 * Erases an exhausted vault (record, share and pending logins) and says
 * whether this call did it. Called when a guess is asked of a vault with none
 * left, so the N-th (last) login could still finish before this happens.
 */
export async function eraseExhausted(tx: Queryable, accountId: string): Promise<boolean> {
  const now = nowMs();
  const erased = await tx.run(
    'UPDATE vault_records SET record = NULL, share = NULL, erased_at = ?, updated_at = ? WHERE account_id = ? AND record IS NOT NULL AND attempts_left <= 0',
    [now, now, accountId],
  );
  if (erased > 0) await tx.run('DELETE FROM vault_logins WHERE account_id = ?', [accountId]);
  return erased > 0;
}

/**
 * Erases every exhausted vault whose last guess is older than `graceMs` (the
 * login that took it has expired, so nothing can restore the counter any more)
 * and returns their account ids. Without it an exhausted record would wait
 * for the next attempt to be erased.
 */
export async function sweepExhausted(tx: Queryable, graceMs: number): Promise<string[]> {
  const now = nowMs();
  const rows = await tx.all<{ account_id: string }>(
    `UPDATE vault_records SET record = NULL, share = NULL, erased_at = ?, updated_at = ?
     WHERE attempts_left <= 0 AND record IS NOT NULL AND updated_at <= ?
     RETURNING account_id`,
    [now, now, now - graceMs],
  );
  await tx.run('DELETE FROM vault_logins WHERE expires_at <= ?', [now]);
  return rows.map((r) => r.account_id);
}

/** The attempts left of the account's vault row (0 for an exhausted, erased one); undefined when the account has no vault row. */
export async function storedAttemptsLeft(db: Queryable, accountId: string): Promise<number | undefined> {
  const row = await db.one<{ attempts_left: number }>('SELECT attempts_left FROM vault_records WHERE account_id = ?', [accountId]);
  return row?.attempts_left;
}

/** One guess from the decoy counter of a name without a live vault: it starts at `max`, goes down to 0 and stays there. */
export async function takeDecoyGuess(tx: Queryable, nameMac: Uint8Array, max: number): Promise<number> {
  const now = nowMs();
  await tx.run('INSERT INTO vault_decoys (name_mac, attempts_left, updated_at) VALUES (?, ?, ?) ON CONFLICT (name_mac) DO NOTHING', [nameMac, max, now]);
  const row = await tx.one<{ attempts_left: number }>(
    'UPDATE vault_decoys SET attempts_left = attempts_left - 1, updated_at = ? WHERE name_mac = ? AND attempts_left > 0 RETURNING attempts_left',
    [now, nameMac],
  );
  return row?.attempts_left ?? 0;
}

export interface PendingLogin {
  readonly id: string;
  /** null for a fake login (no live vault): it proceeds like a real one and can never succeed. */
  readonly accountId: string | null;
  readonly generation: number | null;
  readonly serverState: string;
  readonly expiresAt: number;
}

export async function savePendingLogin(tx: Queryable, login: PendingLogin): Promise<void> {
  await tx.run('INSERT INTO vault_logins (id, account_id, generation, server_state, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)', [
    login.id,
    login.accountId,
    login.generation,
    login.serverState,
    nowMs(),
    login.expiresAt,
  ]);
}

/** Removes and returns a pending login: whoever deletes the row owns it, so a login id works once. */
export async function takePendingLogin(db: Queryable, id: string): Promise<PendingLogin | undefined> {
  const row = await db.one<{ id: string; account_id: string | null; generation: number | null; server_state: string; expires_at: number }>(
    'DELETE FROM vault_logins WHERE id = ? RETURNING id, account_id, generation, server_state, expires_at',
    [id],
  );
  return (
    row && {
      id: row.id,
      accountId: row.account_id,
      generation: row.generation,
      serverState: row.server_state,
      expiresAt: row.expires_at,
    }
  );
}

/**
 * After the final login message verified: the counter back to `max` and the
 * share, provided the vault is still the one the login started on (not
 * erased, not replaced by a new password meanwhile).
 */
export async function restoreAndReadShare(tx: Queryable, accountId: string, generation: number, max: number): Promise<Uint8Array | undefined> {
  const row = await tx.one<{ share: Uint8Array | null }>(
    'UPDATE vault_records SET attempts_left = ?, updated_at = ? WHERE account_id = ? AND generation = ? AND record IS NOT NULL RETURNING share',
    [max, nowMs(), accountId, generation],
  );
  return row?.share ? new Uint8Array(row.share) : undefined;
}

/**
 * Stores a new password's record with a fresh share and a full counter, and
 * drops logins in flight (they belong to the old password). `replaced` says
 * whether a live password existed before.
 */
export async function storeRecord(tx: Queryable, accountId: string, record: string, share: Uint8Array, max: number): Promise<{ generation: number; replaced: boolean }> {
  const before = await tx.one<{ live: number }>('SELECT CASE WHEN record IS NULL THEN 0 ELSE 1 END AS live FROM vault_records WHERE account_id = ?', [accountId]);
  const now = nowMs();
  const row = await tx.one<{ generation: number }>(
    `INSERT INTO vault_records (account_id, record, share, generation, attempts_left, created_at, updated_at, erased_at)
     VALUES (?, ?, ?, 1, ?, ?, ?, NULL)
     ON CONFLICT (account_id) DO UPDATE SET record = excluded.record, share = excluded.share,
       generation = vault_records.generation + 1, attempts_left = excluded.attempts_left,
       updated_at = excluded.updated_at, erased_at = NULL
     RETURNING generation`,
    [accountId, record, share, max, now, now],
  );
  await tx.run('DELETE FROM vault_logins WHERE account_id = ?', [accountId]);
  return { generation: row?.generation ?? 1, replaced: before?.live === 1 };
}

/**
 * The user removes their password: the row goes, so the name answers from a
 * decoy counter like any account without a password. (An exhausted vault keeps
 * its row at 0 instead: see eraseExhausted.)
 */
export async function removeRecord(tx: Queryable, accountId: string): Promise<boolean> {
  await tx.run('DELETE FROM vault_logins WHERE account_id = ?', [accountId]);
  return (await tx.run('DELETE FROM vault_records WHERE account_id = ? AND record IS NOT NULL', [accountId])) > 0;
}

export interface VaultStatus {
  readonly hasPassword: boolean;
  readonly attemptsLeft: number | null;
}

export async function vaultStatus(db: Queryable, accountId: string): Promise<VaultStatus> {
  const row = await db.one<{ live: number; attempts_left: number }>(
    'SELECT CASE WHEN record IS NULL THEN 0 ELSE 1 END AS live, attempts_left FROM vault_records WHERE account_id = ?',
    [accountId],
  );
  if (row?.live !== 1) return { hasPassword: false, attemptsLeft: null };
  return { hasPassword: true, attemptsLeft: row.attempts_left };
}
