/**
 * The engine's bulk primitives on node:crypto (OpenSSL). Same bytes as core's
 * WebCrypto path (format.md §6): frame = 0x01 ‖ nonce:12 ‖ ciphertext ‖ tag:16,
 * GCM associated data = 0x01 ‖ aad. OpenSSL works on the caller's buffers
 * directly, while WebCrypto copies each input and schedules a thread-pool job
 * per call — which made WebCrypto sealing the backup's bottleneck.
 *
 * Keys are turned into KeyObjects once: given raw bytes, every createCipheriv and createHmac call
 * builds a KeyObject of its own, which costs ≈75 µs — more than sealing or MACing a 4 KiB SQLite
 * page (measured in Node 24: HMAC of 4 KiB 88 → 10 µs, AES-GCM 83 → 30 µs).
 */
import { KeyObject, createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey } from 'node:crypto';
import { BLOB_FRAME_OVERHEAD, BLOB_FRAME_VERSION, CofferError, GCM_NONCE_BYTES, GCM_TAG_BYTES, MAX_BLOB_PLAINTEXT, assertBytes, fail, parseBlobFrame } from '@coffer/core';
import type { BulkCrypto, Sealer } from '../repo/bulk-crypto.ts';
import { nextNonce } from './worker-frames.ts';

const VERSION = Uint8Array.of(BLOB_FRAME_VERSION);

class NodeSealer implements Sealer {
  readonly #key: KeyObject;
  readonly #limit: number;
  #sealed = 0;

  constructor(key: Uint8Array, limit: number) {
    assertBytes(key, 'AES-256-GCM key', 32);
    this.#key = createSecretKey(key); // a copy: later changes to `key` do not reach it
    this.#limit = limit;
  }

  // Work runs inside a promise executor, so every failure — argument checks included — is a rejection.
  seal(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve) => {
      resolve(this.#seal(plaintext, aad));
    });
  }

  open(frameBytes: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve) => {
      resolve(this.#open(frameBytes, aad));
    });
  }

  #seal(plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    if (this.#sealed >= this.#limit) fail('E_KEY_USAGE_LIMIT', `this key has sealed ${String(this.#sealed)} messages, its limit`);
    this.#sealed++;
    return sealFrameSync(this.#key, plaintext, aad);
  }

  #open(frameBytes: Uint8Array, aad: Uint8Array): Uint8Array {
    return openFrameSync(this.#key, frameBytes, aad);
  }
}

/** Seals one frame (format.md §6) with a fresh random nonce. Also run inside the bulk worker threads. */
export function sealFrameSync(key: Uint8Array | KeyObject, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  if (!(key instanceof KeyObject)) assertBytes(key, 'AES-256-GCM key', 32);
  assertBytes(plaintext, 'plaintext');
  assertBytes(aad, 'associated data');
  if (plaintext.length > MAX_BLOB_PLAINTEXT) fail('E_TOO_LARGE', 'plaintext exceeds the 256 MiB blob limit');
  const frame = new Uint8Array(BLOB_FRAME_OVERHEAD + plaintext.length);
  frame[0] = BLOB_FRAME_VERSION;
  const nonce = frame.subarray(1, 1 + GCM_NONCE_BYTES);
  // From the pool the pack workers use: one CSPRNG call per frame cost ≈8 µs (OpenSSL checks
  // for a fork on every call), more than sealing a small tree or list.
  nonce.set(nextNonce());
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(VERSION);
  cipher.setAAD(aad);
  // update() may return fewer bytes than it was given; final() returns the rest.
  let offset = 1 + GCM_NONCE_BYTES;
  const body = cipher.update(plaintext);
  frame.set(body, offset);
  offset += body.length;
  frame.set(cipher.final(), offset);
  frame.set(cipher.getAuthTag(), frame.length - GCM_TAG_BYTES);
  return frame;
}

/** Opens one frame; the plaintext is released only after the tag verified. */
export function openFrameSync(key: Uint8Array | KeyObject, frameBytes: Uint8Array, aad: Uint8Array): Uint8Array {
  if (!(key instanceof KeyObject)) assertBytes(key, 'AES-256-GCM key', 32);
  assertBytes(aad, 'associated data');
  const frame = parseBlobFrame(frameBytes);
  const ciphertextLength = frame.sealed.length - GCM_TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, frame.nonce, { authTagLength: GCM_TAG_BYTES });
  decipher.setAAD(VERSION);
  decipher.setAAD(aad);
  decipher.setAuthTag(frame.sealed.subarray(ciphertextLength));
  const body = decipher.update(frame.sealed.subarray(0, ciphertextLength));
  let tail: Buffer;
  try {
    tail = decipher.final();
  } catch (cause) {
    body.fill(0);
    throw new CofferError('E_AUTH_FAILED', 'AES-GCM authentication failed', { cause });
  }
  const out = new Uint8Array(body.length + tail.length);
  out.set(body);
  out.set(tail, body.length);
  return out;
}

/** The KeyObject of each MAC key in use, with the bytes it was made from (a caller may change them). */
const macKeys = new WeakMap<Uint8Array, { readonly bytes: Buffer; readonly key: KeyObject }>();

function macKey(key: Uint8Array): KeyObject {
  const cached = macKeys.get(key);
  if (cached?.bytes.equals(key)) return cached.key;
  const made = { bytes: Buffer.from(key), key: createSecretKey(key) };
  macKeys.set(key, made);
  return made.key;
}

export const nodeBulkCrypto: BulkCrypto = {
  name: 'node:crypto',
  hmacSha256(key, data) {
    const mac = createHmac('sha256', macKey(key)).update(data).digest();
    return Promise.resolve(new Uint8Array(mac.buffer, mac.byteOffset, mac.length));
  },
  sha256(data) {
    const digest = createHash('sha256').update(data).digest();
    return Promise.resolve(new Uint8Array(digest.buffer, digest.byteOffset, digest.length));
  },
  sealer: (key, messageLimit) => Promise.resolve(new NodeSealer(key, messageLimit)),
};
