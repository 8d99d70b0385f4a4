/**
 * Recovery-key sign-in (format.md §7.6): the recovery key that opens the
 * recovery-key slot also signs its holder in to a Coffer server, which keeps
 * only the public half.
 *
 *   seed      = HKDF-SHA256(ikm = the 60 secret symbols, salt = "", info = "coffer/v1/recovery-sign-in", L = 32)
 *   key pair  = Ed25519 (RFC 8032) from that seed
 *   message   = "coffer/v1/recovery-sign-in/message" ‖ purpose:u8 ‖ origin_len:u8 ‖ origin ‖ challenge:32
 *
 * The HKDF label keeps this key independent of the slot key derived from the
 * same secret. The message binds each signature to the server's origin (a
 * phishing server cannot relay it elsewhere), to what it authorises (a sign-in
 * signature cannot register a key) and to a single-use server challenge.
 *
 * WebCrypto has no "Ed25519 from seed" call, so the seed is wrapped in the
 * fixed RFC 8410 PKCS#8 prefix and imported; the public key comes from the
 * JWK export of that import (Node 24 and Chromium both provide it).
 */
import { assertBytes, assertObject, concatBytes, own, toHex, utf8, wipe } from './bytes.ts';
import { fail } from './errors.ts';
import { LABELS } from './labels.ts';
import { hkdfSha256, subtle } from './primitives.ts';
import { RECOVERY_KEY_SECRET_SYMBOLS, type RecoveryKey } from './recovery-key.ts';

export const RECOVERY_SIGN_IN_CHALLENGE_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
/** An origin is at most this many UTF-8 bytes (its length is a u8). */
export const RECOVERY_SIGN_IN_MAX_ORIGIN_BYTES = 255;

/** What a signature authorises; each has its own byte in the message (format.md §7.6). */
export const RECOVERY_SIGN_IN_PURPOSES = {
  'sign-in': 1,
  register: 2,
  'create-account': 3,
  'step-up': 4,
} as const;
export type RecoverySignInPurpose = keyof typeof RECOVERY_SIGN_IN_PURPOSES;

export interface RecoverySignInContext {
  /** The server's web origin as the client sees it, e.g. "https://backup.example.org" (no path, no trailing slash). */
  readonly origin: string;
  readonly purpose: RecoverySignInPurpose;
  /** The server's single-use challenge, 32 bytes. */
  readonly challenge: Uint8Array;
}

export interface RecoverySigningKey {
  /** The raw 32-byte Ed25519 public key: all the server ever stores. */
  readonly publicKey: Uint8Array;
  /** Non-extractable; signs only. */
  readonly privateKey: CryptoKey;
}

/** RFC 8410 §7: PrivateKeyInfo { version 0, AlgorithmIdentifier id-Ed25519, OCTET STRING { OCTET STRING seed } }. */
const PKCS8_ED25519_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);

/**
 * The encodings of Ed25519's small-order points (orders 1, 2, 4 and 8), with
 * the x sign bit cleared, and the non-canonical encodings p and p + 1 of y = 0
 * and y = 1 (the same list libsodium blocks). A key among them verifies a
 * forged signature with probability at least 1/8 for any message — Chromium's
 * WebCrypto accepts them — so the verifier refuses them outright.
 */
const SMALL_ORDER_ENCODINGS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

/** True for a public key that is a small-order point in any encoding (see SMALL_ORDER_ENCODINGS). */
export function isSmallOrderEd25519Key(publicKey: Uint8Array): boolean {
  assertBytes(publicKey, 'Ed25519 public key', ED25519_PUBLIC_KEY_BYTES);
  const masked = publicKey.slice();
  masked[31] = (masked[31] ?? 0) & 0x7f;
  return SMALL_ORDER_ENCODINGS.includes(toHex(masked));
}

/** The 32-byte Ed25519 seed of a recovery key (exported for the vectors; callers want `deriveRecoverySigningKey`). */
export async function recoverySignInSeed(recoveryKey: RecoveryKey): Promise<Uint8Array> {
  assertObject(recoveryKey, 'recovery key');
  assertBytes(recoveryKey.secret, 'recovery key secret', RECOVERY_KEY_SECRET_SYMBOLS);
  return hkdfSha256(recoveryKey.secret, new Uint8Array(0), utf8(LABELS.recoverySignInKey), 32);
}

export async function deriveRecoverySigningKey(recoveryKey: RecoveryKey): Promise<RecoverySigningKey> {
  const seed = await recoverySignInSeed(recoveryKey);
  // Built in place (not through a copying helper) so the one buffer holding the seed is wiped below.
  const pkcs8 = new Uint8Array(PKCS8_ED25519_PREFIX.length + seed.length);
  pkcs8.set(PKCS8_ED25519_PREFIX);
  pkcs8.set(seed, PKCS8_ED25519_PREFIX.length);
  wipe(seed);
  try {
    const s = subtle();
    // One extractable import only to read the public key out of its JWK; the key we keep cannot be exported.
    const exportable = await s.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
    const jwk = await s.exportKey('jwk', exportable);
    if (typeof jwk.x !== 'string') fail('E_CRYPTO_UNAVAILABLE', 'this runtime does not export Ed25519 public keys');
    const publicKey = base64UrlBytes(jwk.x);
    assertBytes(publicKey, 'Ed25519 public key', ED25519_PUBLIC_KEY_BYTES);
    const privateKey = await s.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
    return { publicKey, privateKey };
  } finally {
    wipe(pkcs8);
  }
}

/** The exact bytes that are signed (format.md §7.6). */
export function recoverySignInMessage(context: RecoverySignInContext): Uint8Array {
  assertObject(context, 'sign-in context');
  const purpose = (RECOVERY_SIGN_IN_PURPOSES as Record<string, number | undefined>)[context.purpose];
  if (purpose === undefined) fail('E_INVALID_ARGUMENT', 'unknown recovery sign-in purpose');
  if (typeof context.origin !== 'string' || context.origin === '') fail('E_INVALID_ARGUMENT', 'origin must be a non-empty string');
  const origin = utf8(context.origin);
  if (origin.length > RECOVERY_SIGN_IN_MAX_ORIGIN_BYTES) fail('E_INVALID_ARGUMENT', `origin must be at most ${String(RECOVERY_SIGN_IN_MAX_ORIGIN_BYTES)} bytes`);
  assertBytes(context.challenge, 'challenge', RECOVERY_SIGN_IN_CHALLENGE_BYTES);
  return concatBytes(utf8(LABELS.recoverySignInMessage), Uint8Array.of(purpose, origin.length), origin, context.challenge);
}

export async function signRecoveryChallenge(key: RecoverySigningKey, context: RecoverySignInContext): Promise<Uint8Array> {
  const message = recoverySignInMessage(context);
  return new Uint8Array(await subtle().sign('Ed25519', key.privateKey, own(message)));
}

/**
 * Checks a signature made by `signRecoveryChallenge`; returns nothing on
 * success and throws `E_AUTH_FAILED` otherwise. Wrong-length inputs are
 * parameter errors, so they are told apart from a signature that does not verify.
 */
export async function verifyRecoverySignature(publicKey: Uint8Array, context: RecoverySignInContext, signature: Uint8Array): Promise<void> {
  assertBytes(publicKey, 'Ed25519 public key', ED25519_PUBLIC_KEY_BYTES);
  assertBytes(signature, 'Ed25519 signature', ED25519_SIGNATURE_BYTES);
  const message = recoverySignInMessage(context);
  if (isSmallOrderEd25519Key(publicKey)) fail('E_AUTH_FAILED', 'the recovery-key signature does not verify');
  let ok = false;
  try {
    const key = await subtle().importKey('raw', own(publicKey), { name: 'Ed25519' }, false, ['verify']);
    ok = await subtle().verify('Ed25519', key, own(signature), own(message));
  } catch (cause) {
    // A public key that is not a curve point is refused by importKey: it verifies nothing.
    fail('E_AUTH_FAILED', 'the recovery-key signature does not verify', cause);
  }
  if (!ok) fail('E_AUTH_FAILED', 'the recovery-key signature does not verify');
}

function base64UrlBytes(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
