import {
  deriveRecoverySigningKey,
  parseRecoveryKey,
  signRecoveryChallenge,
  type RecoveryKey,
  type RecoverySignInPurpose,
} from '@coffer/core';
import { fromBase64Url, toBase64Url, type CofferApi } from './http.ts';

/**
 * Recovery-key sign-in (format.md §7.6): the recovery key signs a fresh server
 * challenge with an Ed25519 key derived from it; the server keeps only the
 * public key. The key never leaves this process, and each signature is bound
 * to this server's origin and to what it authorises, so it cannot be relayed
 * to another server or reused for another purpose.
 *
 * A recovery-key sign-in opens a session and counts as a step-up; it does not
 * release the vault share (only a password login does).
 */

/** A parsed recovery key, or its text as the user typed it. */
export type RecoveryKeyInput = RecoveryKey | string;

export interface RecoveryKeyInfo {
  readonly id: string;
  readonly label: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
}

export interface RecoverySession {
  readonly accountId: string;
  readonly session: { readonly sessionId: string; readonly expiresAt: number };
}

interface IssuedSession {
  sessionId: string;
  expiresAt: number;
  token?: string;
}

/**
 * Creates an account whose first unlock method is this recovery key (the CLI's
 * path: no passkey needed) and signs in. The username is optional; without one
 * the account is reachable only through its unlock methods.
 */
export async function createAccountWithRecoveryKey(
  api: CofferApi,
  input: { recoveryKey: RecoveryKeyInput; username?: string; displayName?: string; label?: string },
): Promise<RecoverySession & { recoveryKey: RecoveryKeyInfo }> {
  const proof = await prove(api, input.recoveryKey, 'create-account');
  const body = { ...proof, ...optional(input, ['username', 'displayName', 'label']), sessionKind: api.sessionKind };
  const created = await api.request<{ accountId: string; recoveryKey: RecoveryKeyInfo; session: IssuedSession }>('POST', '/recovery-keys/accounts', body);
  return { accountId: created.accountId, recoveryKey: created.recoveryKey, session: keep(api, created.session) };
}

/** Adds a recovery key to the signed-in account; needs a fresh step-up. */
export async function registerRecoveryKey(api: CofferApi, input: { recoveryKey: RecoveryKeyInput; label?: string }): Promise<RecoveryKeyInfo> {
  const proof = await prove(api, input.recoveryKey, 'register');
  return (await api.request<{ recoveryKey: RecoveryKeyInfo }>('POST', '/recovery-keys', { ...proof, ...optional(input, ['label']) })).recoveryKey;
}

/** Signs in with a recovery key; the key names the account, a username is only checked if given. */
export async function signInWithRecoveryKey(api: CofferApi, input: { recoveryKey: RecoveryKeyInput; username?: string }): Promise<RecoverySession & { recoveryKeyId: string }> {
  const proof = await prove(api, input.recoveryKey, 'sign-in');
  const body = { ...proof, ...optional(input, ['username']), sessionKind: api.sessionKind };
  const signedIn = await api.request<{ accountId: string; recoveryKeyId: string; session: IssuedSession }>('POST', '/recovery-keys/sign-in', body);
  return { accountId: signedIn.accountId, recoveryKeyId: signedIn.recoveryKeyId, session: keep(api, signedIn.session) };
}

/** A fresh recovery-key signature on the current session: a step-up for the next five minutes. */
export async function stepUpWithRecoveryKey(api: CofferApi, recoveryKey: RecoveryKeyInput): Promise<{ stepUpAt: number }> {
  const proof = await prove(api, recoveryKey, 'step-up');
  return api.request<{ stepUpAt: number }>('POST', '/recovery-keys/step-up', proof);
}

export async function listRecoveryKeys(api: CofferApi): Promise<RecoveryKeyInfo[]> {
  return (await api.request<{ recoveryKeys: RecoveryKeyInfo[] }>('GET', '/recovery-keys')).recoveryKeys;
}

/** Removes a recovery key; needs a fresh step-up and is refused for the account's last unlock method. */
export async function removeRecoveryKey(api: CofferApi, id: string): Promise<void> {
  await api.request('DELETE', `/recovery-keys/${encodeURIComponent(id)}`);
}

/** Fetches a challenge for `purpose` and signs it for this server's origin. */
async function prove(api: CofferApi, input: RecoveryKeyInput, purpose: RecoverySignInPurpose): Promise<{ challenge: string; publicKey: string; signature: string }> {
  const recoveryKey = typeof input === 'string' ? parseRecoveryKey(input) : input;
  const pair = await deriveRecoverySigningKey(recoveryKey);
  const { challenge } = await api.request<{ challenge: string }>('POST', '/recovery-keys/challenges', { purpose });
  const signature = await signRecoveryChallenge(pair, { origin: serverOrigin(api), purpose, challenge: fromBase64Url(challenge) });
  return { challenge, publicKey: toBase64Url(pair.publicKey), signature: toBase64Url(signature) };
}

/** The origin this client talks to; a relative base URL (a web app on its own server) resolves against the page. */
function serverOrigin(api: CofferApi): string {
  const page = (globalThis as { location?: { href: string } }).location?.href;
  return new URL(api.baseUrl, page).origin;
}

function keep(api: CofferApi, session: IssuedSession): { sessionId: string; expiresAt: number } {
  if (session.token !== undefined) api.token = session.token;
  return { sessionId: session.sessionId, expiresAt: session.expiresAt };
}

/** The listed optional fields that are set (exactOptionalPropertyTypes: never send an explicit undefined). */
function optional<T extends object, K extends keyof T>(input: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (input[key] !== undefined) out[key] = input[key];
  return out;
}
