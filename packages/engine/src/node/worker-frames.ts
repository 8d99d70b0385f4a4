/**
 * Blob frames inside the pack workers (format.md §6): frame = version:u8 (1) ‖ nonce:12 ‖
 * ciphertext ‖ tag:16, AES-256-GCM with associated data version ‖ aad. The same bytes as core's
 * and node-crypto.ts's implementations; only node: modules are imported, so a worker does not
 * load @coffer/core (≈20 MiB and a second of start-up per worker). The engine's round-trip
 * tests open these frames with the main thread's implementation.
 */
import { type KeyObject, createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomFillSync } from 'node:crypto';

export const FRAME_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const FRAME_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;
const VERSION = Uint8Array.of(FRAME_VERSION);
/** The cipher is fed in slices: its outputs are then small buffers malloc reuses, not one per blob size. */
const SLICE_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/** The key of one pack or other object: HKDF(subkey, salt, label) (format.md §9.2). */
export function objectKey(subkey: Uint8Array, salt: Uint8Array, label: string): KeyObject {
  return createSecretKey(new Uint8Array(hkdfSync('sha256', subkey, salt, encoder.encode(label), 32)));
}

/** "coffer/v1/blob" ‖ type ‖ id, rebuilt in place for each blob. */
export class BlobAad {
  readonly #bytes: Uint8Array;
  readonly #at: number;

  constructor(label: string) {
    const head = encoder.encode(label);
    this.#bytes = new Uint8Array(head.length + 33);
    this.#bytes.set(head);
    this.#at = head.length;
  }

  /** The aad of the blob of type `type` whose id lies at `at` in `ids`; valid until the next call. */
  for(type: number, ids: Uint8Array, at: number): Uint8Array {
    this.#bytes[this.#at] = type;
    this.#bytes.set(ids.subarray(at, at + 32), this.#at + 1);
    return this.#bytes;
  }
}

/**
 * Nonces come from a pool filled 4 KiB at a time: a call to the CSPRNG per blob cost more than
 * sealing a 4 KiB page. Each nonce is still 96 fresh random bits, used once.
 */
const nonces = new Uint8Array(4096 - (4096 % NONCE_BYTES));
let noncesUsed = nonces.length;

/** A fresh nonce: a view valid until the next call (copy it out). Also used by node-crypto.ts on the main thread. */
export function nextNonce(): Uint8Array {
  if (noncesUsed === nonces.length) {
    randomFillSync(nonces);
    noncesUsed = 0;
  }
  const nonce = nonces.subarray(noncesUsed, noncesUsed + NONCE_BYTES);
  noncesUsed += NONCE_BYTES;
  return nonce;
}

/**
 * Seals `prefix` ‖ `body` into one frame, handing its bytes to `out` in order; returns the frame's
 * length. GCM encrypts as a stream, so the parts need not be joined first.
 */
export function sealFrame(key: KeyObject, prefix: Uint8Array | undefined, body: Uint8Array, aad: Uint8Array, out: (bytes: Uint8Array) => void): number {
  const nonce = nextNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(VERSION);
  cipher.setAAD(aad);
  out(VERSION);
  out(nonce);
  if (prefix) out(cipher.update(prefix));
  for (let at = 0; at < body.length; at += SLICE_BYTES) out(cipher.update(body.subarray(at, at + SLICE_BYTES)));
  out(cipher.final());
  out(cipher.getAuthTag());
  return FRAME_OVERHEAD + (prefix?.length ?? 0) + body.length;
}

export class FrameError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Decrypts a frame, handing its payload to `out` in pieces (as sealFrame takes it: small buffers
 * malloc reuses, not one the size of the blob), then checks its tag: E_INTEGRITY if it does not
 * authenticate — the caller must then discard every piece it was given.
 */
export function openFrame(key: KeyObject, frame: Uint8Array, aad: Uint8Array, out: (bytes: Uint8Array) => void): void {
  // An empty frame is one the pack's bytes ended before (restore-data.ts).
  if (frame.length === 0) throw new FrameError('E_INTEGRITY', 'is truncated');
  if (frame.length < FRAME_OVERHEAD || frame[0] !== FRAME_VERSION) throw new FrameError('E_INTEGRITY', 'is damaged (not a version-1 frame)');
  const decipher = createDecipheriv('aes-256-gcm', key, frame.subarray(1, 1 + NONCE_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(VERSION);
  decipher.setAAD(aad);
  decipher.setAuthTag(frame.subarray(frame.length - TAG_BYTES));
  const end = frame.length - TAG_BYTES;
  for (let at = 1 + NONCE_BYTES; at < end; at += SLICE_BYTES) out(decipher.update(frame.subarray(at, Math.min(at + SLICE_BYTES, end))));
  try {
    decipher.final();
  } catch {
    throw new FrameError('E_INTEGRITY', 'is damaged (E_AUTH_FAILED)');
  }
}
