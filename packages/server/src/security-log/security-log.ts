import type { Queryable } from '../db/db.ts';
import { nowMs } from '../db/db.ts';

/** Everything that changes who can reach an account's secrets is logged, with device, address and time. */
export type SecurityEventType =
  | 'account-created'
  | 'sign-in'
  | 'sign-in-failed'
  | 'passkey-added'
  | 'passkey-renamed'
  | 'passkey-removed'
  | 'share-released'
  | 'share-deleted'
  | 'step-up'
  | 'step-up-requested'
  | 'step-up-denied'
  | 'vault-set'
  | 'vault-attempt'
  | 'vault-erased'
  | 'password-changed'
  | 'recovery-key-added'
  | 'recovery-key-removed'
  | 'session-revoked'
  | 'store-deleted'
  | 'store-restored'
  | 'store-replaced'
  | 'store-purged';

/**
 * Event types that count as failures for the burst flag. A vault attempt is
 * logged before anyone knows whether the password was right, so it is judged
 * by its counter instead: attempts left that fell BURST_THRESHOLD below the
 * maximum mean that many guesses in a row without a verified login.
 */
const FAILURES: ReadonlySet<SecurityEventType> = new Set(['sign-in-failed', 'step-up-denied']);
export const BURST_WINDOW_MS = 10 * 60_000;
export const BURST_THRESHOLD = 5;

export type SecurityFlag = 'new-device' | 'failure-burst';

export interface SecurityEvent {
  readonly id: number;
  readonly type: SecurityEventType;
  /** Public facts only (credential id, attempts left, session id) — never a secret. */
  readonly detail: Record<string, string | number | boolean>;
  readonly device: string;
  readonly clientAddress: string;
  readonly flags: SecurityFlag[];
  readonly createdAt: number;
}

interface EventRow {
  id: number;
  type: SecurityEventType;
  detail: string;
  device: string;
  client_address: string;
  flags: string;
  created_at: number;
}

export interface NewSecurityEvent {
  accountId: string;
  type: SecurityEventType;
  detail?: Record<string, string | number | boolean>;
  device: string;
  clientAddress: string;
  /** Whether this event is a failure (a vault attempt that did not verify, say); defaults from the type. */
  failure?: boolean;
}

/**
 * Appends an event and computes its anomaly flags: `new-device` when the
 * account has never seen this device string before (its first event excepted),
 * `failure-burst` when this failure is the BURST_THRESHOLD-th within BURST_WINDOW_MS.
 */
export async function logSecurityEvent(db: Queryable, event: NewSecurityEvent): Promise<SecurityEvent> {
  const now = nowMs();
  const flags: SecurityFlag[] = [];
  const seenAny = await db.one('SELECT id FROM security_events WHERE account_id = ? LIMIT 1', [event.accountId]);
  const seenDevice = await db.one('SELECT id FROM security_events WHERE account_id = ? AND device = ? LIMIT 1', [event.accountId, event.device]);
  if (seenAny && !seenDevice) flags.push('new-device');
  const failure = event.failure ?? FAILURES.has(event.type);
  const detail = { ...event.detail, ...(failure ? { failure: true } : {}) };
  if (failure) {
    const recent = await db.one<{ n: number }>(
      `SELECT COUNT(*) AS n FROM security_events WHERE account_id = ? AND created_at > ? AND detail LIKE '%"failure":true%'`,
      [event.accountId, now - BURST_WINDOW_MS],
    );
    if ((recent?.n ?? 0) + 1 >= BURST_THRESHOLD) flags.push('failure-burst');
  }
  const { attemptsLeft, maxAttempts } = event.detail ?? {};
  if (event.type === 'vault-attempt' && typeof attemptsLeft === 'number' && typeof maxAttempts === 'number' && maxAttempts - attemptsLeft >= BURST_THRESHOLD) {
    flags.push('failure-burst');
  }
  const row = await db.one<{ id: number }>(
    `INSERT INTO security_events (account_id, type, detail, device, client_address, flags, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    [event.accountId, event.type, JSON.stringify(detail), event.device, event.clientAddress, flags.join(','), now],
  );
  return { id: row?.id ?? 0, type: event.type, detail, device: event.device, clientAddress: event.clientAddress, flags, createdAt: now };
}

/** The account's events, newest first, `limit` at a time; `before` pages backwards by id. */
export async function readSecurityLog(db: Queryable, accountId: string, options: { limit: number; before?: number | undefined }): Promise<SecurityEvent[]> {
  const rows = await db.all<EventRow>(
    `SELECT id, type, detail, device, client_address, flags, created_at FROM security_events
     WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
    [accountId, options.before ?? Number.MAX_SAFE_INTEGER, options.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    type: r.type,
    detail: JSON.parse(r.detail) as SecurityEvent['detail'],
    device: r.device,
    clientAddress: r.client_address,
    flags: r.flags === '' ? [] : (r.flags.split(',') as SecurityFlag[]),
    createdAt: r.created_at,
  }));
}
