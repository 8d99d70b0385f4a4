/**
 * Per-object keys (format.md §9.2). Every pack, index file, snapshot and lock
 * is sealed under its own key, derived from a repository subkey and a random
 * 32-byte salt stored in the object. A key therefore seals at most a few
 * thousand messages, far below the 2^32 random-nonce limit, however many runs
 * and devices write to the repository.
 */
import { hkdfSha256, wipe } from '@coffer/core';
import { type BulkCrypto, type Sealer, webBulkCrypto } from './bulk-crypto.ts';

export const OBJECT_SALT_BYTES = 32;
/** A pack holds at most this many blobs, so its key can never reach the nonce limit. */
export const MAX_MESSAGES_PER_OBJECT_KEY = 1 << 20;

export async function objectKey(subkey: Uint8Array, salt: Uint8Array, label: string, bulk: BulkCrypto = webBulkCrypto): Promise<Sealer> {
  const raw = await hkdfSha256(subkey, salt, new TextEncoder().encode(label), 32);
  try {
    return await bulk.sealer(raw, MAX_MESSAGES_PER_OBJECT_KEY);
  } finally {
    wipe(raw);
  }
}
