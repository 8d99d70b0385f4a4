import { CofferApi } from '@coffer/client';
import * as opaque from '@serenity-kit/opaque';
import { createAccount } from '../src/accounts/accounts.ts';
import { createSession } from '../src/accounts/sessions.ts';
import type { Db } from '../src/db/db.ts';
import { readSecurityLog, type SecurityEvent } from '../src/security-log/security-log.ts';

/**
 * Shared by the vault and recovery-key suites: accounts made straight in the
 * database (the sign-up ceremonies are other suites' business), SDK clients on
 * a listening server, and the raw first login message, which is all the server
 * ever sees of a wrong password.
 */

/** An account with a bearer session; stepped up unless told otherwise. */
export async function signedInAccount(db: Db, username: string | undefined, options: { steppedUp?: boolean } = {}): Promise<{ accountId: string; token: string }> {
  const account = await createAccount(db, { username });
  const { token } = await createSession(db, {
    accountId: account.id,
    kind: 'bearer',
    method: 'passkey',
    device: 'vault test',
    clientAddress: '127.0.0.1',
    ttlMs: 3_600_000,
    steppedUp: options.steppedUp ?? true,
  });
  return { accountId: account.id, token };
}

export function sdk(origin: string, token?: string): CofferApi {
  return new CofferApi({ baseUrl: origin, token, sessionKind: 'bearer', device: 'vault test' });
}

export interface RawStart {
  readonly status: number;
  /** The response body exactly as sent. */
  readonly text: string;
  readonly body: { loginId?: string; loginResponse?: string; attemptsLeft?: number; error?: { code: string } };
}

/**
 * The client's first login message sent as is, without finishing: for a wrong
 * password the real client stops right there too (OPAQUE tells it the password
 * is wrong from the server's answer), so this is exactly what the server sees.
 */
export async function rawStart(origin: string, username: string, password = 'not the password'): Promise<RawStart> {
  await opaque.ready;
  const { startLoginRequest } = opaque.client.startLogin({ password });
  const response = await fetch(`${origin}/api/v1/vault/login/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, startLoginRequest }),
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as RawStart['body'] };
}

export async function vaultRow(db: Db, accountId: string): Promise<{ attempts_left: number; live: number } | undefined> {
  return db.one('SELECT attempts_left, CASE WHEN record IS NULL THEN 0 ELSE 1 END AS live FROM vault_records WHERE account_id = ?', [accountId]);
}

export async function events(db: Db, accountId: string, type: SecurityEvent['type']): Promise<SecurityEvent[]> {
  return (await readSecurityLog(db, accountId, { limit: 500 })).filter((e) => e.type === type).reverse();
}
