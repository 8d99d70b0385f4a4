import { CofferError, isCofferError } from '@coffer/core';
import * as opaque from '@serenity-kit/opaque';
import { fromBase64Url, type CofferApi } from './http.ts';

/**
 * The password vault, client side (OPAQUE, RFC 9807): the password never
 * leaves this process (the server sees only blinded OPAQUE messages), and
 * every login start costs one of the account's N guesses, whether or not the
 * password was right.
 *
 * What a password unlocks is `exportKey ‖ share` (format.md §4.3, password
 * slot): the export key comes out of OPAQUE on this side, the share is
 * released by the server only after the final login message verified.
 * Works in browsers and in Node (the library is WebAssembly; a browser page
 * needs `'wasm-unsafe-eval'` in its CSP).
 */

export interface VaultSecrets {
  /** 32 bytes from the server, new with every password. */
  readonly share: Uint8Array;
  /** OPAQUE's 64-byte export key: the same at registration and at every login with this password. */
  readonly exportKey: Uint8Array;
  /** Wrong guesses left (N after a password was set or a login verified). */
  readonly attemptsLeft: number;
}

export interface VaultLogin extends VaultSecrets {
  readonly accountId: string;
  readonly session: { readonly sessionId: string; readonly expiresAt: number };
}

/** E_VAULT_LOGIN_FAILED with the guesses left after this one (0: the next attempt erases the vault). */
export class VaultLoginError extends CofferError {
  readonly attemptsLeft: number;

  constructor(attemptsLeft: number) {
    const left = attemptsLeft === 1 ? '1 attempt' : `${String(attemptsLeft)} attempts`;
    super('E_VAULT_LOGIN_FAILED', `The password is wrong, or there is no password vault for that name; ${left} left.`);
    this.attemptsLeft = attemptsLeft;
  }
}

/**
 * Sets the password of the signed-in account, or replaces it (then the old
 * password's share is gone, and so is any keyslot made with it). Needs a
 * fresh step-up (passkey, recovery key or password sign-in within 5 minutes).
 */
export async function setPassword(api: CofferApi, password: string): Promise<VaultSecrets> {
  checkPassword(password);
  await opaque.ready;
  const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({ password });
  const { registrationResponse } = await api.request<{ registrationResponse: string }>('POST', '/vault/registration/start', { registrationRequest });
  const { registrationRecord, exportKey } = opaque.client.finishRegistration({ clientRegistrationState, registrationResponse, password });
  const stored = await api.request<{ share: string; attemptsLeft: number }>('POST', '/vault/registration/finish', { registrationRecord });
  return { share: fromBase64Url(stored.share), exportKey: fromBase64Url(exportKey), attemptsLeft: stored.attemptsLeft };
}

/**
 * Signs in with the current password (which is also the step-up), then sets
 * the new one. Returns both sets of secrets: the previous ones open the old
 * password slot, the new ones make its replacement.
 */
export async function changePassword(
  api: CofferApi,
  input: { username: string; currentPassword: string; newPassword: string },
): Promise<{ previous: VaultLogin; current: VaultSecrets }> {
  const previous = await vaultLogin(api, { username: input.username, password: input.currentPassword });
  const current = await setPassword(api, input.newPassword);
  return { previous, current };
}

/**
 * Signs in with username and password on a device that has nothing else,
 * opening a session (a cookie in browsers, a bearer token kept on `api`
 * elsewhere) and returning the vault share and export key. A wrong password,
 * an unknown name and an erased vault all throw VaultLoginError.
 */
export async function vaultLogin(api: CofferApi, input: { username: string; password: string }): Promise<VaultLogin> {
  checkPassword(input.password);
  await opaque.ready;
  const { clientLoginState, startLoginRequest } = opaque.client.startLogin({ password: input.password });
  // From here on a guess is spent, whatever happens next.
  const start = await api.request<{ loginId: string; loginResponse: string; attemptsLeft: number }>('POST', '/vault/login/start', {
    username: input.username,
    startLoginRequest,
  });
  const finished = opaque.client.finishLogin({ clientLoginState, loginResponse: start.loginResponse, password: input.password });
  if (!finished) {
    // Tell the server, so a vault whose last guess this was is erased now; a failure to tell changes nothing else.
    await api.request('POST', '/vault/login/abort', { loginId: start.loginId }).catch(() => undefined);
    throw new VaultLoginError(start.attemptsLeft);
  }
  let done: { accountId: string; share: string; attemptsLeft: number; session: { sessionId: string; expiresAt: number; token?: string } };
  try {
    done = await api.request('POST', '/vault/login/finish', { loginId: start.loginId, finishLoginRequest: finished.finishLoginRequest, sessionKind: api.sessionKind });
  } catch (error) {
    // The vault was erased or its password replaced while this login was in flight.
    if (isCofferError(error, 'E_VAULT_LOGIN_FAILED')) throw new VaultLoginError(start.attemptsLeft);
    throw error;
  }
  if (done.session.token !== undefined) api.token = done.session.token;
  return {
    accountId: done.accountId,
    share: fromBase64Url(done.share),
    exportKey: fromBase64Url(finished.exportKey),
    attemptsLeft: done.attemptsLeft,
    session: { sessionId: done.session.sessionId, expiresAt: done.session.expiresAt },
  };
}

export interface VaultStatus {
  readonly hasPassword: boolean;
  readonly attemptsLeft: number | null;
  readonly maxAttempts: number;
}

/** The signed-in account's vault: is a password set, and how many wrong guesses are left. */
export function getVaultStatus(api: CofferApi): Promise<VaultStatus> {
  return api.request<VaultStatus>('GET', '/vault');
}

/** Removes the password (fresh step-up; refused when it is the account's last unlock method). */
export async function removePassword(api: CofferApi): Promise<void> {
  await api.request('DELETE', '/vault');
}

function checkPassword(password: string): void {
  if (typeof password !== 'string' || password === '') throw new CofferError('E_INVALID_ARGUMENT', 'A password must be a non-empty string.');
}
