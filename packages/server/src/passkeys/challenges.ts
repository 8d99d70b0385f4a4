import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/db.ts';
import { nowMs } from '../db/db.ts';
import { apiError } from '../http-errors.ts';

/**
 * Single-use, expiring WebAuthn challenges, kept server-side. Each is bound
 * to what it may prove: a purpose, and for signed-in ceremonies the session
 * (and for share ceremonies the slot and credential). A challenge is consumed
 * by one `DELETE … RETURNING` before its response is verified, so of two
 * concurrent submissions exactly one gets it, and a failed verification burns
 * it too: a response can be tried once.
 */
export type ChallengePurpose = 'register' | 'add-passkey' | 'sign-in' | 'step-up' | 'step-up-confirm' | 'share-create' | 'share-release';

/** Purposes that run inside a session; their challenge is bound to that session. */
const SESSION_BOUND: ReadonlySet<ChallengePurpose> = new Set(['add-passkey', 'step-up', 'share-create', 'share-release']);

export const CHALLENGE_BYTES = 32;

export interface ChallengeBinding {
  readonly accountId?: string | undefined;
  readonly sessionId?: string | undefined;
  readonly credentialId?: string | undefined;
  readonly slotId?: string | undefined;
  /** Purpose-specific JSON (the pending account of a registration, the username a sign-in named). */
  readonly pending?: string | undefined;
}

export interface StoredChallenge {
  readonly challenge: string;
  readonly purpose: ChallengePurpose;
  readonly accountId: string | null;
  readonly sessionId: string | null;
  readonly credentialId: string | null;
  readonly slotId: string | null;
  readonly pending: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
}

interface ChallengeRow {
  challenge: string;
  purpose: ChallengePurpose;
  account_id: string | null;
  session_id: string | null;
  credential_id: string | null;
  slot_id: string | null;
  pending: string | null;
  created_at: number;
  expires_at: number;
}

/** Stores a fresh random challenge and returns its bytes (SimpleWebAuthn encodes them into the options). */
export async function issueChallenge(db: Queryable, purpose: ChallengePurpose, binding: ChallengeBinding, ttlMs: number): Promise<Uint8Array<ArrayBuffer>> {
  if (SESSION_BOUND.has(purpose) && binding.sessionId === undefined) throw new Error(`a ${purpose} challenge needs a session`);
  const bytes = new Uint8Array(randomBytes(CHALLENGE_BYTES));
  const now = nowMs();
  // Housekeeping on the way: expired challenges are useless, so the table stays small without a timer.
  await db.run('DELETE FROM webauthn_challenges WHERE expires_at <= ?', [now]);
  await db.run(
    `INSERT INTO webauthn_challenges (challenge, purpose, account_id, session_id, credential_id, slot_id, pending, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      Buffer.from(bytes).toString('base64url'),
      purpose,
      binding.accountId ?? null,
      binding.sessionId ?? null,
      binding.credentialId ?? null,
      binding.slotId ?? null,
      binding.pending ?? null,
      now,
      now + ttlMs,
    ],
  );
  return bytes;
}

export interface ConsumeScope {
  /** The session the response arrives in; required for session-bound purposes. */
  readonly sessionId?: string | undefined;
  /** For share ceremonies: the slot named in the URL. */
  readonly slotId?: string | undefined;
  /** For a step-up confirmation: the request named in the URL (kept in `pending`). */
  readonly pending?: string | undefined;
}

/**
 * Takes the challenge out of the store, or throws E_CHALLENGE when there is no
 * such challenge for this purpose and scope (never issued, already used, issued
 * to another session or slot) or when it has expired. A challenge issued to
 * another session stays in place: a stranger cannot burn it.
 */
export async function consumeChallenge(db: Queryable, challenge: string, purpose: ChallengePurpose, scope: ConsumeScope = {}): Promise<StoredChallenge> {
  let sql = 'DELETE FROM webauthn_challenges WHERE challenge = ? AND purpose = ?';
  const params: (string | null)[] = [challenge, purpose];
  if (SESSION_BOUND.has(purpose)) {
    if (scope.sessionId === undefined) apiError('E_CHALLENGE', 'This ceremony needs the session that started it.');
    sql += ' AND session_id = ?';
    params.push(scope.sessionId);
  } else {
    sql += ' AND session_id IS NULL';
  }
  if (scope.slotId !== undefined) {
    sql += ' AND slot_id = ?';
    params.push(scope.slotId);
  }
  if (scope.pending !== undefined) {
    sql += ' AND pending = ?';
    params.push(scope.pending);
  }
  const row = await db.one<ChallengeRow>(`${sql} RETURNING *`, params);
  if (!row) apiError('E_CHALLENGE', 'The challenge is unknown, was already used, or belongs to another ceremony.');
  if (row.expires_at <= nowMs()) apiError('E_CHALLENGE', 'The challenge has expired; start the ceremony again.');
  return {
    challenge: row.challenge,
    purpose: row.purpose,
    accountId: row.account_id,
    sessionId: row.session_id,
    credentialId: row.credential_id,
    slotId: row.slot_id,
    pending: row.pending,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}
