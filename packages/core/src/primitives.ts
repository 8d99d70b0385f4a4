/**
 * Thin, parameter-checked wrappers over WebCrypto: the only place core touches
 * `crypto.subtle`. Every other module calls these, so the Wycheproof vectors that
 * exercise this file exercise the exact code paths the formats use.
 */
import { assertBytes, own } from './bytes.ts';
import { CofferError, fail } from './errors.ts';

export const AES_256_KEY_BYTES = 32;
export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;
export const HMAC_SHA256_BYTES = 32;
/** RFC 5869 §2.3: L <= 255 * HashLen. */
export const HKDF_SHA256_MAX_OUTPUT = 255 * 32;

export function subtle(): SubtleCrypto {
  const s = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!s) fail('E_CRYPTO_UNAVAILABLE', 'WebCrypto (globalThis.crypto.subtle) is not available in this runtime');
  return s;
}

/**
 * The randomness seam. Production code always reads `crypto.getRandomValues`;
 * the vector generator and tests replace `fill` to make outputs reproducible.
 * Nothing in the library itself ever assigns it.
 */
export const _randomInternals = {
  fill(target: Uint8Array<ArrayBuffer>): void {
    // getRandomValues refuses more than 65,536 bytes per call.
    for (let offset = 0; offset < target.length; offset += 65536) {
      globalThis.crypto.getRandomValues(target.subarray(offset, Math.min(target.length, offset + 65536)));
    }
  },
};

export function randomBytes(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) fail('E_INVALID_ARGUMENT', 'random length must be a non-negative integer');
  const out = new Uint8Array(length);
  _randomInternals.fill(out);
  return out;
}

/** HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info` to `length` bytes. */
export async function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  assertBytes(ikm, 'HKDF ikm');
  assertBytes(salt, 'HKDF salt');
  assertBytes(info, 'HKDF info');
  if (!Number.isSafeInteger(length) || length < 1 || length > HKDF_SHA256_MAX_OUTPUT) {
    fail('E_INVALID_ARGUMENT', `HKDF-SHA256 output length must be 1..${String(HKDF_SHA256_MAX_OUTPUT)}`);
  }
  const key = await subtle().importKey('raw', own(ikm), 'HKDF', false, ['deriveBits']);
  const bits = await subtle().deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: own(salt), info: own(info) }, key, length * 8);
  return new Uint8Array(bits);
}

/** HMAC-SHA256 over `message`; the full 32-byte tag (we never truncate our own tags). */
export async function hmacSha256(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  assertBytes(key, 'HMAC key');
  assertBytes(message, 'HMAC message');
  const k = await importHmacKey(key);
  return new Uint8Array(await subtle().sign('HMAC', k, own(message)));
}

/**
 * Verifies a full-length HMAC-SHA256 tag. WebCrypto's verify compares in
 * constant time, unlike a byte loop that stops at the first difference.
 * A tag of any other length is refused as a parameter error, not compared.
 */
export async function hmacSha256Verify(key: Uint8Array, message: Uint8Array, tag: Uint8Array): Promise<boolean> {
  assertBytes(key, 'HMAC key');
  assertBytes(message, 'HMAC message');
  assertBytes(tag, 'HMAC tag', HMAC_SHA256_BYTES);
  const k = await importHmacKey(key);
  return subtle().verify('HMAC', k, own(tag), own(message));
}

async function importHmacKey(key: Uint8Array): Promise<CryptoKey> {
  // WebCrypto refuses zero-length HMAC keys; RFC 2104 pads short keys with zeros
  // to the block size, so a single zero byte is the same key.
  const raw = key.length === 0 ? new Uint8Array(1) : own(key);
  return subtle().importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

export async function importAesGcmKey(key: Uint8Array): Promise<CryptoKey> {
  assertBytes(key, 'AES-256-GCM key', AES_256_KEY_BYTES);
  return subtle().importKey('raw', own(key), 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/** AES-256-GCM encryption with a caller-chosen 96-bit nonce; returns ciphertext ‖ 16-byte tag. */
export async function aesGcmEncrypt(key: CryptoKey, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  checkAesGcmParameters(key, nonce, aad);
  assertBytes(plaintext, 'plaintext');
  const out = await subtle().encrypt({ name: 'AES-GCM', iv: own(nonce), additionalData: own(aad), tagLength: 128 }, key, own(plaintext));
  return new Uint8Array(out);
}

/**
 * AES-256-GCM decryption. Any authentication failure becomes `E_AUTH_FAILED`;
 * WebCrypto releases no plaintext unless the tag verified.
 */
export async function aesGcmDecrypt(key: CryptoKey, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  checkAesGcmParameters(key, nonce, aad);
  assertBytes(sealed, 'ciphertext');
  if (sealed.length < GCM_TAG_BYTES) fail('E_TRUNCATED', 'ciphertext is shorter than the 16-byte tag');
  try {
    const out = await subtle().decrypt({ name: 'AES-GCM', iv: own(nonce), additionalData: own(aad), tagLength: 128 }, key, own(sealed));
    return new Uint8Array(out);
  } catch (cause) {
    if (cause instanceof CofferError) throw cause;
    return fail('E_AUTH_FAILED', 'AES-GCM authentication failed', cause);
  }
}

function checkAesGcmParameters(key: CryptoKey, nonce: Uint8Array, aad: Uint8Array): void {
  const algorithm = key.algorithm as AesKeyAlgorithm;
  if (algorithm.name !== 'AES-GCM' || algorithm.length !== 256) fail('E_INVALID_ARGUMENT', 'key must be an AES-256-GCM key');
  assertBytes(nonce, 'AES-GCM nonce', GCM_NONCE_BYTES);
  assertBytes(aad, 'AES-GCM associated data');
}
