/**
 * The sealed blob frame (format.md §6), key-free:
 *
 *   frame = version:u8 (= 1) ‖ nonce:12 ‖ ciphertext ‖ tag:16
 *
 * The frame carries no length: its container (a pack entry, an object) knows it.
 */
import { assertBytes, assertObject } from '../bytes.ts';
import { fail } from '../errors.ts';
import { GCM_NONCE_BYTES, GCM_TAG_BYTES } from '../primitives.ts';

export const BLOB_FRAME_VERSION = 1;
export const BLOB_FRAME_OVERHEAD = 1 + GCM_NONCE_BYTES + GCM_TAG_BYTES;
/** Largest plaintext one frame may hold (256 MiB); writers split anything larger. */
export const MAX_BLOB_PLAINTEXT = 256 * 1024 * 1024;

export interface BlobFrame {
  readonly version: number;
  readonly nonce: Uint8Array;
  /** Ciphertext followed by the 16-byte GCM tag, as WebCrypto takes it. */
  readonly sealed: Uint8Array;
}

export function encodeBlobFrame(frame: BlobFrame): Uint8Array {
  assertObject(frame, 'blob frame');
  assertBytes(frame.nonce, 'blob frame nonce');
  assertBytes(frame.sealed, 'blob frame ciphertext');
  if (frame.version !== BLOB_FRAME_VERSION) fail('E_INVALID_ARGUMENT', 'blob frame version must be 1');
  if (frame.nonce.length !== GCM_NONCE_BYTES) fail('E_INVALID_ARGUMENT', 'blob frame nonce must be 12 bytes');
  if (frame.sealed.length < GCM_TAG_BYTES) fail('E_INVALID_ARGUMENT', 'blob frame ciphertext must include the 16-byte tag');
  const out = new Uint8Array(1 + GCM_NONCE_BYTES + frame.sealed.length);
  out[0] = frame.version;
  out.set(frame.nonce, 1);
  out.set(frame.sealed, 1 + GCM_NONCE_BYTES);
  return out;
}

export function parseBlobFrame(bytes: Uint8Array): BlobFrame {
  if (!(bytes instanceof Uint8Array)) fail('E_INVALID_ARGUMENT', 'blob frame must be a Uint8Array');
  if (bytes.length === 0) fail('E_TRUNCATED', 'blob frame is empty');
  const version = bytes[0] ?? 0;
  if (version !== BLOB_FRAME_VERSION) fail('E_UNSUPPORTED_VERSION', `blob frame version ${String(version)} is not supported`);
  if (bytes.length < BLOB_FRAME_OVERHEAD) fail('E_TRUNCATED', `blob frame is ${String(bytes.length)} bytes, shorter than its ${String(BLOB_FRAME_OVERHEAD)}-byte overhead`);
  if (bytes.length - BLOB_FRAME_OVERHEAD > MAX_BLOB_PLAINTEXT) fail('E_TOO_LARGE', 'blob frame exceeds the 256 MiB plaintext limit');
  return {
    version,
    nonce: bytes.slice(1, 1 + GCM_NONCE_BYTES),
    sealed: bytes.slice(1 + GCM_NONCE_BYTES),
  };
}
