import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Queryable } from '../db/db.ts';
import { nowMs } from '../db/db.ts';

/** A browser session lives in an httpOnly cookie; a CLI/SDK session is a bearer token. Both are revocable rows. */
export type SessionKind = 'cookie' | 'bearer';
/** How the session was opened, and how a step-up was last proven. */
export type AuthMethod = 'passkey' | 'password' | 'recovery-key';

export interface Session {
  readonly id: string;
  readonly accountId: string;
  readonly kind: SessionKind;
  readonly method: AuthMethod;
  readonly device: string;
  readonly clientAddress: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
  readonly stepUpAt: number | null;
  readonly stepUpMethod: AuthMethod | null;
}

interface SessionRow {
  id: string;
  account_id: string;
  kind: SessionKind;
  method: AuthMethod;
  device: string;
  client_address: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  step_up_at: number | null;
  step_up_method: AuthMethod | null;
}

const toSession = (r: SessionRow): Session => ({
  id: r.id,
  accountId: r.account_id,
  kind: r.kind,
  method: r.method,
  device: r.device,
  clientAddress: r.client_address,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  expiresAt: r.expires_at,
  stepUpAt: r.step_up_at,
  stepUpMethod: r.step_up_method,
});

const hashToken = (token: string): Uint8Array => new Uint8Array(createHash('sha256').update(token).digest());

export interface NewSession {
  accountId: string;
  kind: SessionKind;
  method: AuthMethod;
  device: string;
  clientAddress: string;
  ttlMs: number;
  /** A sign-in with a user-verified ceremony counts as a step-up at the same instant. */
  steppedUp: boolean;
}

/** Opens a session and returns its token: 256 random bits, shown once, stored only as a hash. */
export async function createSession(db: Queryable, input: NewSession): Promise<{ token: string; session: Session }> {
  const token = randomBytes(32).toString('base64url');
  const now = nowMs();
  const row: SessionRow = {
    id: randomUUID(),
    account_id: input.accountId,
    kind: input.kind,
    method: input.method,
    device: input.device,
    client_address: input.clientAddress,
    created_at: now,
    last_seen_at: now,
    expires_at: now + input.ttlMs,
    step_up_at: input.steppedUp ? now : null,
    step_up_method: input.steppedUp ? input.method : null,
  };
  await db.run(
    `INSERT INTO sessions (id, token_hash, account_id, kind, method, device, client_address, created_at, last_seen_at, expires_at, step_up_at, step_up_method)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [row.id, hashToken(token), row.account_id, row.kind, row.method, row.device, row.client_address, row.created_at, row.last_seen_at, row.expires_at, row.step_up_at, row.step_up_method],
  );
  return { token, session: toSession(row) };
}

/** The live session a token names, or undefined if unknown, expired or revoked. Touches last_seen_at at most once a minute. */
export async function sessionByToken(db: Queryable, token: string): Promise<Session | undefined> {
  const row = await db.one<SessionRow>('SELECT * FROM sessions WHERE token_hash = ? AND revoked_at IS NULL', [hashToken(token)]);
  const now = nowMs();
  if (!row || row.expires_at <= now) return undefined;
  if (now - row.last_seen_at > 60_000) {
    await db.run('UPDATE sessions SET last_seen_at = ? WHERE id = ?', [now, row.id]);
    row.last_seen_at = now;
  }
  return toSession(row);
}

export async function listSessions(db: Queryable, accountId: string): Promise<Session[]> {
  const rows = await db.all<SessionRow>(
    'SELECT * FROM sessions WHERE account_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC',
    [accountId, nowMs()],
  );
  return rows.map(toSession);
}

/** Revokes one of the account's sessions; false if there was no such live session. */
export async function revokeSession(db: Queryable, accountId: string, sessionId: string): Promise<boolean> {
  return (await db.run('UPDATE sessions SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL', [nowMs(), sessionId, accountId])) === 1;
}

/** Records a fresh user-verified proof on this session (a passkey assertion, a vault login, a recovery-key signature). */
export async function markSteppedUp(db: Queryable, sessionId: string, method: AuthMethod): Promise<void> {
  await db.run('UPDATE sessions SET step_up_at = ?, step_up_method = ? WHERE id = ?', [nowMs(), method, sessionId]);
}
