import {
  CofferError,
  PRF_OUTPUT_BYTES,
  SERVER_SHARE_BYTES,
  SLOT_ID_BYTES,
  isCofferError,
  passkeyPrfInput,
  toHex,
  type UnlockSecret,
} from '@coffer/core';
import {
  WebAuthnAbortService,
  startAuthentication,
  startRegistration,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/browser';
import { fromBase64Url, type CofferApi } from './http.ts';

/**
 * Passkey ceremonies against a Coffer server: create an account, sign in
 * (with or without a username), step up, add / list / rename / remove
 * passkeys, and the server shares of hybrid passkey slots.
 *
 * The WebAuthn half runs in the browser (navigator.credentials through
 * @simplewebauthn/browser); pass another `authenticator` to run it elsewhere.
 * The PRF output is read here, returned to the caller, and stripped from the
 * response before anything is posted: it never reaches the server. Every
 * WebAuthn prompt is cancelled after `timeoutMs` (a page with no usable
 * authenticator would otherwise wait forever).
 */

/** The WebAuthn half of a ceremony; the default is the browser's. */
export interface PasskeyAuthenticator {
  create(options: PublicKeyCredentialCreationOptionsJSON): Promise<RegistrationResponseJSON>;
  get(options: PublicKeyCredentialRequestOptionsJSON): Promise<AuthenticationResponseJSON>;
  /** Abandons a pending prompt (called on timeout). */
  cancel?(): void;
}

export const browserAuthenticator: PasskeyAuthenticator = {
  create: (optionsJSON) => startRegistration({ optionsJSON }),
  get: (optionsJSON) => startAuthentication({ optionsJSON }),
  cancel: () => {
    WebAuthnAbortService.cancelCeremony();
  },
};

export const DEFAULT_PROMPT_TIMEOUT_MS = 60_000;

export interface CeremonyOptions {
  /** How long the user has to answer the prompt; default 60 s. */
  readonly timeoutMs?: number;
  readonly authenticator?: PasskeyAuthenticator;
}

export interface PasskeyInfo {
  readonly id: string;
  readonly name: string;
  /** The passkey provider named from the AAGUID ("iCloud Keychain"), or "Passkey". */
  readonly provider: string;
  readonly aaguid: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly backupEligible: boolean;
  readonly backedUp: boolean;
  readonly transports: string[];
}

export interface ShareInfo {
  readonly slotId: string;
  readonly credentialId: string;
  readonly createdAt: number;
  readonly lastReleasedAt: number | null;
}

export interface PasskeySession {
  readonly sessionId: string;
  readonly expiresAt: number;
}

interface IssuedSession extends PasskeySession {
  token?: string;
}

export interface PrfResult {
  /** The PRF output for `passkeyPrfInput(prfSalt)`, 32 bytes, when a salt was given and the authenticator supports PRF. */
  readonly prfOutput?: Uint8Array;
  /** Whether the authenticator reported PRF support (registration) or returned an output (assertions). */
  readonly prfEnabled: boolean;
}

// ---- account and session ------------------------------------------------------------------------

/** Creates an account with a new passkey and signs in. Give `prfSalt` (a slot's 32-byte salt) to get its PRF output at once. */
export async function createAccountWithPasskey(
  api: CofferApi,
  input: CeremonyOptions & { username?: string; displayName?: string; passkeyName?: string; prfSalt?: Uint8Array } = {},
): Promise<PrfResult & { accountId: string; username: string | null; displayName: string; passkey: PasskeyInfo; session: PasskeySession }> {
  const { options } = await api.request<{ options: PublicKeyCredentialCreationOptionsJSON }>('POST', '/passkeys/register/options', defined({ username: input.username, displayName: input.displayName }));
  const { response, prf } = await create(withPrf(options, input.prfSalt), input);
  const created = await api.request<{ accountId: string; username: string | null; displayName: string; passkey: PasskeyInfo; session: IssuedSession }>(
    'POST',
    '/passkeys/register/verify',
    { response, sessionKind: api.sessionKind, ...defined({ name: input.passkeyName }) },
  );
  return { ...created, session: keep(api, created.session), ...prf };
}

/** Signs in with a passkey: for a named user, or username-less with any discoverable passkey of this site. */
export async function signInWithPasskey(
  api: CofferApi,
  input: CeremonyOptions & { username?: string; prfSalt?: Uint8Array } = {},
): Promise<PrfResult & { accountId: string; passkeyId: string; session: PasskeySession }> {
  const { options } = await api.request<{ options: PublicKeyCredentialRequestOptionsJSON }>('POST', '/passkeys/sign-in/options', defined({ username: input.username }));
  const { response, prf } = await get(withPrf(options, input.prfSalt), input);
  const signedIn = await api.request<{ accountId: string; passkeyId: string; session: IssuedSession }>('POST', '/passkeys/sign-in/verify', {
    response,
    sessionKind: api.sessionKind,
  });
  return { accountId: signedIn.accountId, passkeyId: signedIn.passkeyId, session: keep(api, signedIn.session), ...prf };
}

/** A fresh user-verified assertion on the current session: sensitive operations are allowed for the next five minutes. */
export async function stepUpWithPasskey(api: CofferApi, options: CeremonyOptions = {}): Promise<{ stepUpAt: number }> {
  const { options: request } = await api.request<{ options: PublicKeyCredentialRequestOptionsJSON }>('POST', '/passkeys/step-up/options');
  const { response } = await get(request, options);
  return api.request<{ stepUpAt: number }>('POST', '/passkeys/step-up/verify', { response });
}

// ---- managing passkeys --------------------------------------------------------------------------

/** Adds a passkey to the signed-in account (needs a fresh step-up: sign in or step up first). */
export async function addPasskey(api: CofferApi, input: CeremonyOptions & { name?: string; prfSalt?: Uint8Array } = {}): Promise<PrfResult & { passkey: PasskeyInfo }> {
  const { options } = await api.request<{ options: PublicKeyCredentialCreationOptionsJSON }>('POST', '/passkeys/add/options');
  const { response, prf } = await create(withPrf(options, input.prfSalt), input);
  const { passkey } = await api.request<{ passkey: PasskeyInfo }>('POST', '/passkeys/add/verify', { response, ...defined({ name: input.name }) });
  return { passkey, ...prf };
}

export async function listPasskeys(api: CofferApi): Promise<PasskeyInfo[]> {
  return (await api.request<{ passkeys: PasskeyInfo[] }>('GET', '/passkeys')).passkeys;
}

export async function renamePasskey(api: CofferApi, id: string, name: string): Promise<PasskeyInfo> {
  return (await api.request<{ passkey: PasskeyInfo }>('PATCH', `/passkeys/${encodeURIComponent(id)}`, { name })).passkey;
}

/** Removes a passkey (needs a fresh step-up; refused for the account's last unlock method). Its hybrid-slot shares are deleted with it. */
export async function removePasskey(api: CofferApi, id: string): Promise<void> {
  await api.request('DELETE', `/passkeys/${encodeURIComponent(id)}`);
}

// ---- hybrid passkey slots -----------------------------------------------------------------------

/** What a hybrid slot's key is derived from: the PRF output (never sent anywhere) and the server's share. */
export interface HybridSlotSecret {
  readonly slotId: string;
  readonly credentialId: string;
  readonly prfOutput: Uint8Array;
  readonly share: Uint8Array;
}

/** A keyslot id as the server names it: 16 bytes, lowercase hex. */
export type SlotIdInput = Uint8Array | string;

/**
 * Creates the server share of a new hybrid slot bound to `credentialId`: one
 * assertion by that passkey yields both the PRF output for `prfSalt` and the
 * share. Build the slot with `hybridUnlockSecret(result)` and core's `createKeyslot`.
 */
export async function createPasskeyShare(
  api: CofferApi,
  input: CeremonyOptions & { slotId: SlotIdInput; credentialId: string; prfSalt: Uint8Array },
): Promise<HybridSlotSecret> {
  return shareCeremony(api, 'create', slotIdHex(input.slotId), input, { credentialId: input.credentialId });
}

/** Releases a hybrid slot's share: one assertion by the slot's passkey yields the PRF output and the share. */
export async function getPasskeyShare(api: CofferApi, input: CeremonyOptions & { slotId: SlotIdInput; prfSalt: Uint8Array }): Promise<HybridSlotSecret> {
  return shareCeremony(api, 'release', slotIdHex(input.slotId), input, undefined);
}

/** Deletes a slot's share, revoking the slot for good (needs a fresh step-up). */
export async function deletePasskeyShare(api: CofferApi, slotId: SlotIdInput): Promise<void> {
  await api.request('DELETE', `/passkeys/shares/${slotIdHex(slotId)}`);
}

export async function listPasskeyShares(api: CofferApi): Promise<ShareInfo[]> {
  return (await api.request<{ shares: ShareInfo[] }>('GET', '/passkeys/shares')).shares;
}

/** The unlock secret of a hybrid passkey slot, for core's `deriveSlotKey` / `createKeyslot` / `openKeyslot`. */
export function hybridUnlockSecret(secret: Pick<HybridSlotSecret, 'prfOutput' | 'share'>): UnlockSecret {
  return { type: 'passkey-hybrid', prfOutput: secret.prfOutput, serverShare: secret.share };
}

async function shareCeremony(
  api: CofferApi,
  kind: 'create' | 'release',
  slotId: string,
  input: CeremonyOptions & { prfSalt: Uint8Array },
  body: { credentialId: string } | undefined,
): Promise<HybridSlotSecret> {
  const { options } = await api.request<{ options: PublicKeyCredentialRequestOptionsJSON }>('POST', `/passkeys/shares/${slotId}/${kind}/options`, body);
  const { response, prf } = await get(withPrf(options, input.prfSalt), input);
  // Without the PRF output the share is useless; do not ask the server to release it.
  const prfOutput = prf.prfOutput ?? fail('This passkey returned no PRF output: its provider does not support the PRF extension.');
  const released = await api.request<{ slotId: string; credentialId: string; share: string }>('POST', `/passkeys/shares/${slotId}/${kind}/verify`, { response });
  const share = fromBase64Url(released.share);
  if (share.length !== SERVER_SHARE_BYTES) throw new CofferError('E_FORMAT', `The server share has ${String(share.length)} bytes, not ${String(SERVER_SHARE_BYTES)}.`);
  return { slotId: released.slotId, credentialId: released.credentialId, prfOutput, share };
}

function slotIdHex(slotId: SlotIdInput): string {
  const hex = typeof slotId === 'string' ? slotId.toLowerCase() : toHex(slotId);
  if (!new RegExp(`^[0-9a-f]{${String(SLOT_ID_BYTES * 2)}}$`).test(hex)) throw new CofferError('E_INVALID_ARGUMENT', `A slot id is ${String(SLOT_ID_BYTES)} bytes (hex).`);
  return hex;
}

// ---- the WebAuthn half --------------------------------------------------------------------------

/** Asks the authenticator to evaluate PRF on Coffer's input for this salt (bytes: JSON cannot carry them). */
function withPrf<T extends { extensions?: object }>(options: T, prfSalt: Uint8Array | undefined): T {
  if (prfSalt === undefined) return options;
  const first = new Uint8Array(passkeyPrfInput(prfSalt));
  return { ...options, extensions: { ...options.extensions, prf: { eval: { first } } } };
}

async function create(options: PublicKeyCredentialCreationOptionsJSON, ceremony: CeremonyOptions) {
  const authenticator = ceremony.authenticator ?? browserAuthenticator;
  return stripPrf(await prompt(() => authenticator.create(options), authenticator, ceremony.timeoutMs));
}

async function get(options: PublicKeyCredentialRequestOptionsJSON, ceremony: CeremonyOptions) {
  const authenticator = ceremony.authenticator ?? browserAuthenticator;
  return stripPrf(await prompt(() => authenticator.get(options), authenticator, ceremony.timeoutMs));
}

/**
 * The browser's errors for a prompt the user closed, dismissed or let time out (WebAuthn
 * deliberately does not tell these apart): the app should offer to try again, not report a fault.
 */
const CANCELLED = new Set(['NotAllowedError', 'AbortError']);

/**
 * Runs one WebAuthn prompt with a deadline. A cancelled or unanswered prompt becomes
 * E_PASSKEY_CANCELLED; any other failure (no matching credential, a security error)
 * E_WEBAUTHN_REJECTED; both with the browser's error as their cause.
 */
async function prompt<T>(run: () => Promise<T>, authenticator: PasskeyAuthenticator, timeoutMs = DEFAULT_PROMPT_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      authenticator.cancel?.();
      reject(new CofferError('E_PASSKEY_CANCELLED', `The passkey prompt got no answer within ${String(Math.round(timeoutMs / 1000))} s.`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([run(), deadline]);
  } catch (error) {
    if (isCofferError(error)) throw error;
    const name = error instanceof Error ? error.name : 'Error';
    if (CANCELLED.has(name)) throw new CofferError('E_PASSKEY_CANCELLED', `The passkey prompt was cancelled or timed out (${name}).`, { cause: error });
    throw new CofferError('E_WEBAUTHN_REJECTED', `The passkey prompt failed (${name}).`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Takes the PRF output out of the response and returns a copy of the response
 * without it: the browser's raw results (ArrayBuffers) or a `toJSON()` form
 * (base64url) are both removed, whatever else the extension reported stays.
 */
export function stripPrf<R extends { clientExtensionResults: object }>(response: R): { response: R; prf: PrfResult } {
  const extensions = response.clientExtensionResults as Record<string, unknown>;
  const prf = extensions['prf'] as { enabled?: unknown; results?: { first?: unknown } } | undefined;
  const prfOutput = prfBytes(prf?.results?.first);
  if (prfOutput !== undefined && prfOutput.length !== PRF_OUTPUT_BYTES) fail(`The PRF output has ${String(prfOutput.length)} bytes, not ${String(PRF_OUTPUT_BYTES)}.`);
  const cleaned: Record<string, unknown> = { ...extensions };
  if (prf !== undefined) cleaned['prf'] = typeof prf.enabled === 'boolean' ? { enabled: prf.enabled } : {};
  const enabled = prfOutput !== undefined || prf?.enabled === true;
  return { response: { ...response, clientExtensionResults: cleaned }, prf: prfOutput === undefined ? { prfEnabled: enabled } : { prfOutput, prfEnabled: enabled } };
}

/** A copy of the PRF output; the browser's own buffer is zeroed once copied. */
function prfBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof ArrayBuffer) {
    const copy = new Uint8Array(value.slice(0));
    new Uint8Array(value).fill(0);
    return copy;
  }
  if (ArrayBuffer.isView(value)) {
    const view = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    const copy = view.slice();
    view.fill(0);
    return copy;
  }
  if (typeof value === 'string') return fromBase64Url(value);
  return undefined;
}

function fail(message: string): never {
  throw new CofferError('E_WEBAUTHN_REJECTED', message);
}

function keep(api: CofferApi, session: IssuedSession): PasskeySession {
  if (session.token !== undefined) api.token = session.token;
  return { sessionId: session.sessionId, expiresAt: session.expiresAt };
}

/** The fields that are set (exactOptionalPropertyTypes: never send an explicit undefined). */
function defined(fields: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out;
}
