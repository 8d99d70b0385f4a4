import { randomBytes } from 'node:crypto';
import { RECOVERY_SIGN_IN_CHALLENGE_BYTES, type RecoverySignInPurpose } from '@coffer/core';
import type { Queryable } from '../db/db.ts';
import { nowMs } from '../db/db.ts';
import { apiError } from '../http-errors.ts';

/**
 * Single-use, expiring challenges for recovery-key signatures (format.md
 * §7.6), kept server-side and bound to a purpose and, for purposes used inside
 * a session, to that session. One `DELETE … RETURNING` consumes a challenge
 * before the signature is checked, so each can be tried once.
 */
const SESSION_BOUND: ReadonlySet<RecoverySignInPurpose> = new Set(['register', 'step-up']);

export function needsSession(purpose: RecoverySignInPurpose): boolean {
  return SESSION_BOUND.has(purpose);
}

export async function issueRecoveryChallenge(
  db: Queryable,
  purpose: RecoverySignInPurpose,
  sessionId: string | undefined,
  ttlMs: number,
): Promise<{ challenge: string; expiresAt: number }> {
  const challenge = randomBytes(RECOVERY_SIGN_IN_CHALLENGE_BYTES).toString('base64url');
  const now = nowMs();
  // Expired challenges are useless; dropping them here keeps the table small without a timer.
  await db.run('DELETE FROM recovery_challenges WHERE expires_at <= ?', [now]);
  await db.run('INSERT INTO recovery_challenges (challenge, purpose, session_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)', [
    challenge,
    purpose,
    needsSession(purpose) ? (sessionId ?? null) : null,
    now,
    now + ttlMs,
  ]);
  return { challenge, expiresAt: now + ttlMs };
}

/**
 * Takes the challenge out of the store, or throws E_CHALLENGE when it was
 * never issued for this purpose (and session), was already used, or expired.
 * A challenge of another session is left in place: a stranger cannot burn it.
 */
export async function consumeRecoveryChallenge(db: Queryable, challenge: string, purpose: RecoverySignInPurpose, sessionId?: string): Promise<Uint8Array> {
  const bound = needsSession(purpose);
  if (bound && sessionId === undefined) apiError('E_CHALLENGE', 'This challenge needs the session that asked for it.');
  const row = await db.one<{ expires_at: number }>(
    `DELETE FROM recovery_challenges WHERE challenge = ? AND purpose = ? AND ${bound ? 'session_id = ?' : 'session_id IS NULL'} RETURNING expires_at`,
    bound ? [challenge, purpose, sessionId ?? null] : [challenge, purpose],
  );
  if (!row) apiError('E_CHALLENGE', 'The challenge is unknown, was already used, or belongs to another request.');
  if (row.expires_at <= nowMs()) apiError('E_CHALLENGE', 'The challenge has expired; ask for a new one.');
  return new Uint8Array(Buffer.from(challenge, 'base64url'));
}
