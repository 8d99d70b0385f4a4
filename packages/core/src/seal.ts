/**
 * The blob seal/open primitive the engine builds on (format.md §6):
 * AES-256-GCM, a fresh random 96-bit nonce per message, caller-supplied AAD.
 *
 * Random 96-bit nonces are safe only while one key seals at most 2^32 messages
 * (NIST SP 800-38D §8.3: collision probability then stays below 2^-32). A
 * SealingKey counts its messages and refuses the next one at the limit; a
 * writer that needs more derives a fresh key (format.md §6.2).
 */
import { assertBytes, concatBytes } from './bytes.ts';
import { fail } from './errors.ts';
import { BLOB_FRAME_VERSION, MAX_BLOB_PLAINTEXT, encodeBlobFrame, parseBlobFrame } from './formats/blob-frame.ts';
import { GCM_NONCE_BYTES, aesGcmDecrypt, aesGcmEncrypt, importAesGcmKey, randomBytes } from './primitives.ts';

/** The documented per-key message limit for random nonces. */
export const MAX_MESSAGES_PER_KEY = 2 ** 32;

export class SealingKey {
  private sealed = 0;
  private readonly key: CryptoKey;
  /** Lowered only by tests, to reach the limit without 2^32 encryptions. */
  private readonly limit: number;

  private constructor(key: CryptoKey, limit: number) {
    this.key = key;
    this.limit = limit;
  }

  static async import(keyBytes: Uint8Array, options: { messageLimit?: number } = {}): Promise<SealingKey> {
    const limit = options.messageLimit ?? MAX_MESSAGES_PER_KEY;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_MESSAGES_PER_KEY) {
      fail('E_INVALID_ARGUMENT', 'messageLimit must be 1..2^32');
    }
    return new SealingKey(await importAesGcmKey(keyBytes), limit);
  }

  /**
   * Messages sealed so far through this object. The budget belongs to the
   * object, not to the key bytes: keep one SealingKey per key (the engine
   * derives a fresh key per pack, format.md §9.2).
   */
  get messagesSealed(): number {
    return this.sealed;
  }

  /** Seals `plaintext` into a blob frame bound to `aad`. */
  async seal(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    assertBytes(plaintext, 'plaintext');
    assertBytes(aad, 'associated data');
    if (plaintext.length > MAX_BLOB_PLAINTEXT) fail('E_TOO_LARGE', 'plaintext exceeds the 256 MiB blob limit');
    if (this.sealed >= this.limit) fail('E_KEY_USAGE_LIMIT', `this key has sealed ${String(this.sealed)} messages, its limit`);
    this.sealed++;
    const nonce = randomBytes(GCM_NONCE_BYTES);
    const sealed = await aesGcmEncrypt(this.key, nonce, plaintext, frameAad(aad));
    return encodeBlobFrame({ version: BLOB_FRAME_VERSION, nonce, sealed });
  }

  /** Opens a blob frame; throws `E_AUTH_FAILED` (never returns plaintext) unless it verifies under `aad`. */
  async open(frame: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    assertBytes(aad, 'associated data');
    const parsed = parseBlobFrame(frame);
    return aesGcmDecrypt(this.key, parsed.nonce, parsed.sealed, frameAad(aad));
  }
}

/** The version byte is authenticated too, so a frame cannot be replayed under another version's rules. */
function frameAad(aad: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(BLOB_FRAME_VERSION), aad);
}
