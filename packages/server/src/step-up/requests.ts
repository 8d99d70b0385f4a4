import { randomBytes, randomInt } from 'node:crypto';
import type { Queryable } from '../db/db.ts';
import { nowMs } from '../db/db.ts';

/**
 * Step-up requests (migration 006): a session that cannot give a passkey
 * assertion itself — the CLI on a server, a TV app — asks for one to be given
 * in a browser, the way RFC 8628's device flow hands a sign-in to a second
 * screen. The request's id is the confirmation page's address: knowing it
 * lets one look at the request and attempt a passkey confirmation, nothing
 * more. The user code, shown on the device and on the page, is what a user
 * checks so that a stolen session cannot borrow their passkey through a link
 * sent to them.
 */
export type StepUpRequestStatus = 'pending' | 'approved' | 'denied' | 'cancelled' | 'expired';

export interface StepUpRequest {
  readonly id: string;
  readonly accountId: string;
  readonly sessionId: string;
  readonly code: string;
  readonly action: string;
  readonly device: string;
  readonly clientAddress: string;
  readonly status: StepUpRequestStatus;
  readonly credentialId: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly decidedAt: number | null;
}

interface Row {
  id: string;
  account_id: string;
  session_id: string;
  code: string;
  action: string;
  device: string;
  client_address: string;
  status: 'pending' | 'approved' | 'denied' | 'cancelled';
  credential_id: string | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
}

/** The asking session's state, read alongside: a revoked or ended session has nothing left to step up. */
interface RowWithSession extends Row {
  session_live: number;
}

/** How long a request waits for the user: long enough to find a phone, short enough not to linger. */
export const STEP_UP_REQUEST_TTL_MS = 10 * 60_000;
/** Decided and expired requests are kept this long, so a device polling late still learns the outcome. */
const KEEP_MS = 24 * 60 * 60_000;
/** RFC 8628 §6.1's alphabet: consonants only (no vowels, so no words), none easily confused. */
const CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

/** Eight letters as XXXX-XXXX: 34 bits, far more than an attacker can match by retrying in ten minutes. */
function newUserCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += CODE_ALPHABET.charAt(randomInt(CODE_ALPHABET.length));
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

function fromRow(r: Row, now: number, sessionLive = true): StepUpRequest {
  return {
    id: r.id,
    accountId: r.account_id,
    sessionId: r.session_id,
    code: r.code,
    action: r.action,
    device: r.device,
    clientAddress: r.client_address,
    status: r.status === 'pending' && (r.expires_at <= now || !sessionLive) ? 'expired' : r.status,
    credentialId: r.credential_id,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    decidedAt: r.decided_at,
  };
}

export async function createStepUpRequest(
  db: Queryable,
  input: { accountId: string; sessionId: string; action: string; device: string; clientAddress: string },
): Promise<StepUpRequest> {
  const now = nowMs();
  // Housekeeping on the way, as with challenges: the table stays small without a timer.
  await db.run('DELETE FROM step_up_requests WHERE expires_at <= ?', [now - KEEP_MS]);
  const row: Row = {
    id: randomBytes(16).toString('base64url'),
    account_id: input.accountId,
    session_id: input.sessionId,
    code: newUserCode(),
    action: input.action,
    device: input.device,
    client_address: input.clientAddress,
    status: 'pending',
    credential_id: null,
    created_at: now,
    expires_at: now + STEP_UP_REQUEST_TTL_MS,
    decided_at: null,
  };
  await db.run(
    `INSERT INTO step_up_requests (id, account_id, session_id, code, action, device, client_address, status, credential_id, created_at, expires_at, decided_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [row.id, row.account_id, row.session_id, row.code, row.action, row.device, row.client_address, row.status, null, row.created_at, row.expires_at, null],
  );
  return fromRow(row, now);
}

const LIVE_SESSION = 'SELECT id FROM sessions WHERE revoked_at IS NULL AND expires_at > ?';

export async function stepUpRequestById(db: Queryable, id: string): Promise<StepUpRequest | undefined> {
  const now = nowMs();
  const row = await db.one<RowWithSession>(
    `SELECT r.*, CASE WHEN r.session_id IN (${LIVE_SESSION}) THEN 1 ELSE 0 END AS session_live FROM step_up_requests r WHERE r.id = ?`,
    [now, id],
  );
  return row ? fromRow(row, now, row.session_live === 1) : undefined;
}

/**
 * Moves a pending, unexpired request whose session is still live to
 * `status`, once: of two concurrent decisions exactly one changes the row.
 * Returns the decided request, or undefined when it was no longer pending.
 */
export async function decideStepUpRequest(db: Queryable, id: string, status: 'approved' | 'denied' | 'cancelled', credentialId: string | null): Promise<StepUpRequest | undefined> {
  const now = nowMs();
  const row = await db.one<Row>(
    `UPDATE step_up_requests SET status = ?, credential_id = ?, decided_at = ?
     WHERE id = ? AND status = 'pending' AND expires_at > ? AND session_id IN (${LIVE_SESSION}) RETURNING *`,
    [status, credentialId, now, id, now, now],
  );
  return row ? fromRow(row, now) : undefined;
}
