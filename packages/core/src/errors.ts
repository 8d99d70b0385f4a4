/**
 * One error class for everything core throws, with a stable string code that
 * callers branch on. Messages are for humans and may change; codes may not.
 * Messages never contain key material, PRF output, passwords or plaintext.
 */

/** The catalog: every code core can throw, with what it means. `docs/errors.md` lists the same codes (a test keeps them in step). */
export const ERROR_CATALOG = {
  E_FORMAT: 'The bytes or text do not follow the documented layout (bad magic, bad field value, trailing data).',
  E_TRUNCATED: 'The input ends before a field or a declared length is complete.',
  E_TOO_LARGE: 'A declared length or a count exceeds the documented limit; nothing was allocated for it.',
  E_UNSUPPORTED_VERSION: 'The structure has a version or type this implementation does not know.',
  E_AUTH_FAILED: 'Authentication failed: the data was modified, truncated, moved to another place or bound to other associated data.',
  E_WRONG_KEY: 'The key does not open this keyslot or repository (its key-commitment tag does not match).',
  E_RECOVERY_KEY_FORMAT: 'The text is not shaped like a recovery key (wrong length once spaces and dashes are removed).',
  E_RECOVERY_KEY_TYPO: 'The recovery key has a character outside the alphabet or its checksum does not match: it was mistyped.',
  E_INVALID_ARGUMENT: 'The caller passed a parameter of the wrong type, length or range.',
  E_ROLLBACK: 'The repository presents an older or forked state than one this client has already seen.',
  E_LAST_KEYSLOT: 'Removing this keyslot would leave the repository with no way to unlock it.',
  E_KEY_USAGE_LIMIT: 'The per-key message limit was reached; derive a fresh key before sealing more.',
  E_CRYPTO_UNAVAILABLE: 'The runtime has no WebCrypto (globalThis.crypto.subtle).',
  // The backup engine.
  E_REPOSITORY_NOT_FOUND: 'There is no Coffer repository at that location.',
  E_REPOSITORY_EXISTS: 'A Coffer repository already exists at that location.',
  E_REPOSITORY_LOCKED: 'Another process holds a conflicting lock on the repository.',
  E_NOT_FOUND: 'The repository has no snapshot, blob or path of that name.',
  E_INTEGRITY: 'An object is missing, damaged or does not match what refers to it.',
  // Storage (the engine's drivers; listed here so the project has one catalog).
  E_STORAGE_NOT_FOUND: 'The storage has no object of that name.',
  E_STORAGE_EXISTS: 'An object of that name already exists; stored objects are never overwritten.',
  E_STORAGE_PRECONDITION: 'A compare-and-swap found another version than the one expected.',
  E_STORAGE_FULL: 'The storage refused the write for lack of space or quota.',
  E_STORAGE_UNAVAILABLE: 'The storage could not be reached or kept failing after retries.',
  E_STORAGE_DENIED: 'The storage refused the request: missing or wrong credentials or permissions.',
  E_STORAGE_FAILED: 'The storage answered with an error that retrying will not fix.',
  // The Coffer server's API and the client SDK (an HTTP error body carries one of these codes).
  E_BAD_REQUEST: 'The request is malformed or fails the route schema.',
  E_UNAUTHENTICATED: 'There is no valid session: sign in first.',
  E_FORBIDDEN: 'The session may not do this (another account, a revoked session or credential).',
  E_STEP_UP_REQUIRED: 'This operation needs a fresh user-verified sign-in (at most 5 minutes old).',
  E_STEP_UP_DECLINED: 'The step-up was declined on the confirmation page ("this was not me").',
  E_CHALLENGE: 'The ceremony challenge is unknown, expired or already used.',
  E_WEBAUTHN_REJECTED: 'The WebAuthn response failed verification, or the authenticator refused the request.',
  E_PASSKEY_CANCELLED: 'The passkey prompt was cancelled by the user or timed out; nothing was sent.',
  E_LAST_UNLOCK_METHOD: 'Removing this would leave the account with no way to sign in or unlock.',
  E_VAULT_LOGIN_FAILED: 'The password is wrong or there is no vault for that account (the two are indistinguishable).',
  E_CONFLICT: 'The name is taken or the object already exists.',
  E_RATE_LIMITED: 'Too many requests: wait before trying again.',
  E_SERVER: 'The server failed unexpectedly; nothing was changed.',
  E_NETWORK: 'The client could not reach the server or the connection broke.',
} as const;

export type CofferErrorCode = keyof typeof ERROR_CATALOG;

export const ERROR_CODES = Object.keys(ERROR_CATALOG) as CofferErrorCode[];

export class CofferError extends Error {
  override readonly name = 'CofferError';
  readonly code: CofferErrorCode;

  constructor(code: CofferErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isCofferError(value: unknown, code?: CofferErrorCode): value is CofferError {
  return value instanceof CofferError && (code === undefined || value.code === code);
}

/** Shorthand used by the parsers and checks below. */
export function fail(code: CofferErrorCode, message: string, cause?: unknown): never {
  throw new CofferError(code, message, cause === undefined ? undefined : { cause });
}
