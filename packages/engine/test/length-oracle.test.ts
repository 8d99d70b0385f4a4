/**
 * The compression/length oracle of the security test plan (C, last row): an attacker who can put
 * a message into a chat history, and sees the size of the next backup's upload, must not learn
 * whether the message equals a secret already there. Each trial builds the same pack twice — a
 * page holding the secret and the attacker's message, once equal to the secret and once not,
 * beside blobs of a random total size, as a day's pack holds other pages — compressed with zstd
 * as the pack workers do, and compares the two packs' lengths. The padding of format.md §9.5 must
 * make them equal in at least 99.9 % of 10,000 trials; without it they differ in nearly all.
 *
 * The trials' contents come from a seeded generator, so the count is the same on every run (a
 * threshold on a random count would fail now and then); keys, salts and nonces stay random, and
 * do not change a length.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { encodePayload } from '../src/repo/blob.ts';
import { PackBuilder } from '../src/repo/pack.ts';
import { PACK_ALIGN } from '../src/repo/pack-layout.ts';
import { zstdCodec } from '../src/node/zstd-codec.ts';
import { nodeBulkCrypto } from '../src/node/node-crypto.ts';

const TRIALS = 10_000;
const codec = zstdCodec();
const key = randomBytes(32);
/** xorshift32: the trials' contents, the same on every run. */
let state = 0x9e3779b9;
function next(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return state >>> 0;
}
function randomInt(below: number): number {
  return next() % below;
}
function seededBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  return out;
}

const WORDS = ['see', 'you', 'at', 'the', 'station', 'tomorrow', 'ok', 'thanks', 'call', 'me', 'later', 'lunch', 'news', 'photo'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789';

function words(count: number): string {
  return Array.from({ length: count }, () => WORDS[randomInt(WORDS.length)]).join(' ');
}

function secretLike(): string {
  return Array.from({ length: 24 }, () => LETTERS[randomInt(LETTERS.length)]).join('');
}

/** A 4 KiB page of chat text holding `secret` early and the attacker's `guess` later. */
function page(secret: string, guess: string, seed: readonly string[]): Uint8Array {
  const text = `${seed[0] ?? ''} my code is ${secret} ${seed[1] ?? ''} ${guess} ${seed[2] ?? ''}`;
  const bytes = new Uint8Array(4096);
  bytes.set(new TextEncoder().encode(text).subarray(0, 4096));
  return bytes;
}

/** The finished pack's length, and its page's compressed payload length. */
async function packLength(other: Uint8Array, pagePlain: Uint8Array): Promise<{ packed: number; payload: number }> {
  const builder = new PackBuilder(key, nodeBulkCrypto);
  // The rest of the day's pack: stored, of a random size, so where the pack ends is random too.
  builder.add('data', randomBytes(32), await encodePayload(codec, other), other.length);
  const payload = await encodePayload(codec, pagePlain);
  builder.add('data', randomBytes(32), payload, pagePlain.length);
  const { bytes } = await builder.finish();
  return { packed: bytes.length, payload: payload.length };
}

describe('the compression/length oracle (security test plan C)', () => {
  test(`a planted message equal to a secret and one that is not give packs of one length in ≥ 99.9 % of ${String(TRIALS)} trials`, async () => {
    let samePacks = 0;
    let differentPayloads = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const secret = secretLike();
      const other = seededBytes(1 + randomInt(PACK_ALIGN - 1));
      const seed = [words(200), words(150), words(200)];
      const equal = page(secret, secret, seed);
      const unequal = page(secret, secretLike(), seed);
      const a = await packLength(other, equal);
      const b = await packLength(other, unequal);
      if (a.packed === b.packed) samePacks++;
      // Without padding the packs would differ exactly as their compressed pages do.
      if (a.payload !== b.payload) differentPayloads++;
      expect(a.packed % PACK_ALIGN).toBe(0);
    }
    process.stdout.write(
      `[length oracle] ${String(TRIALS)} trials: compressed pages (and so unpadded packs) differ in ${String(differentPayloads)}; padded packs of equal length in ${String(samePacks)}\n`,
    );
    // The oracle is real: zstd finds the repeated secret, so the page shrinks in most trials...
    expect(differentPayloads).toBeGreaterThan(0.9 * TRIALS);
    // ...and the padding hides it.
    expect(samePacks).toBeGreaterThanOrEqual(0.999 * TRIALS);
  }, 300_000);
});
