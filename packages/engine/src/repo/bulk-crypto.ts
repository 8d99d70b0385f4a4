/**
 * The primitives the engine runs over every byte of a backup: the blob-id MAC,
 * SHA-256 of packs, and the AES-256-GCM frames of format.md §6. The portable
 * implementation is core's WebCrypto code; Node swaps in node:crypto, which is
 * several times faster here because WebCrypto copies every buffer and hops to
 * the thread pool per call (engine/src/node/node-crypto.ts). Both produce and
 * accept the same bytes — a cross-test holds them to it.
 */
import { SealingKey, hmacSha256 } from '@coffer/core';

export interface Sealer {
  seal(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  open(frame: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
}

export interface BulkCrypto {
  readonly name: string;
  hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  sha256(data: Uint8Array): Promise<Uint8Array>;
  /** A sealer for a raw 32-byte key that refuses to seal more than `messageLimit` messages. */
  sealer(key: Uint8Array, messageLimit: number): Promise<Sealer>;
}

export const webBulkCrypto: BulkCrypto = {
  name: 'webcrypto',
  hmacSha256,
  async sha256(data) {
    const copy = new Uint8Array(data.length);
    copy.set(data);
    return new Uint8Array(await crypto.subtle.digest('SHA-256', copy));
  },
  sealer: (key, messageLimit) => SealingKey.import(key, { messageLimit }),
};
