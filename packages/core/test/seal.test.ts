/**
 * SealingKey (format.md §6): AES-256-GCM blob frames with a fresh random nonce
 * per message, a per-key message limit, and strict parameter checks.
 */
import { describe, expect, test } from 'vitest';
import { BLOB_FRAME_OVERHEAD, CofferError, MAX_BLOB_PLAINTEXT, MAX_MESSAGES_PER_KEY, SealingKey, randomBytes } from '../src/index.ts';

const inBrowser = typeof window !== 'undefined';
/** 100,000 in Node; Chromium's WebCrypto round trips cost more, and 20,000 already shows any systematic reuse. */
const NONCE_MESSAGES = inBrowser ? 20_000 : 100_000;
const aad = new TextEncoder().encode('blob:test');

async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return 'RETURNED';
  } catch (error) {
    return error instanceof CofferError ? error.code : `UNTYPED ${String(error)}`;
  }
}

async function freshKey(options?: { messageLimit?: number }): Promise<SealingKey> {
  return SealingKey.import(randomBytes(32), options);
}

describe('seal and open', () => {
  // Sizes around the AES block (16) and the GCM counter's first block, plus empty and a large one.
  test.each([0, 1, 15, 16, 17, 64, 1000, 65_537])('round trip of %i bytes', async (size) => {
    const key = await freshKey();
    const plaintext = randomBytes(size);
    const frame = await key.seal(plaintext, aad);
    expect(frame.length).toBe(size + BLOB_FRAME_OVERHEAD);
    expect(frame[0]).toBe(1);
    expect(await key.open(frame, aad)).toEqual(plaintext);
  });

  test('empty associated data works and is not the same as other associated data', async () => {
    const key = await freshKey();
    const frame = await key.seal(Uint8Array.of(42), new Uint8Array(0));
    expect(await key.open(frame, new Uint8Array(0))).toEqual(Uint8Array.of(42));
    expect(await codeOf(() => key.open(frame, Uint8Array.of(0)))).toBe('E_AUTH_FAILED');
  });

  test('sealing the same plaintext twice gives different frames', async () => {
    const key = await freshKey();
    const plaintext = randomBytes(32);
    const [a, b] = await Promise.all([key.seal(plaintext, aad), key.seal(plaintext, aad)]);
    expect(a).not.toEqual(b);
  });

  test('a frame opens only under the key that sealed it', async () => {
    const frame = await (await freshKey()).seal(randomBytes(64), aad);
    expect(await codeOf(async () => (await freshKey()).open(frame, aad))).toBe('E_AUTH_FAILED');
  });
});

describe('nonces', () => {
  test(`${String(NONCE_MESSAGES)} messages under one key never repeat a nonce`, async () => {
    const key = await freshKey();
    const nonces = new Set<string>();
    const empty = new Uint8Array(0);
    // Batches keep many WebCrypto calls in flight without holding all frames at once.
    for (let sealed = 0; sealed < NONCE_MESSAGES; sealed += 1000) {
      const frames = await Promise.all(Array.from({ length: Math.min(1000, NONCE_MESSAGES - sealed) }, () => key.seal(empty, aad)));
      for (const frame of frames) nonces.add(String.fromCharCode(...frame.subarray(1, 13)));
    }
    const repeated = NONCE_MESSAGES - nonces.size;
    console.log(`[seal] ${String(NONCE_MESSAGES)} messages under one key, ${String(repeated)} repeated nonces`);
    expect(key.messagesSealed).toBe(NONCE_MESSAGES);
    expect(repeated).toBe(0);
  });
});

describe('per-key message limit', () => {
  test('the message after the limit is refused with E_KEY_USAGE_LIMIT', async () => {
    const key = await freshKey({ messageLimit: 3 });
    const frames = [];
    for (let i = 0; i < 3; i++) frames.push(await key.seal(Uint8Array.of(i), aad));
    expect(key.messagesSealed).toBe(3);
    expect(await codeOf(() => key.seal(Uint8Array.of(3), aad))).toBe('E_KEY_USAGE_LIMIT');
    expect(await codeOf(() => key.seal(Uint8Array.of(4), aad))).toBe('E_KEY_USAGE_LIMIT');
    expect(key.messagesSealed).toBe(3);
    // The limit guards nonce reuse when sealing; what was sealed still opens.
    for (const [i, frame] of frames.entries()) expect(await key.open(frame, aad)).toEqual(Uint8Array.of(i));
  });

  test('concurrent seals cannot overshoot the limit', async () => {
    const key = await freshKey({ messageLimit: 5 });
    const results = await Promise.all(Array.from({ length: 20 }, () => codeOf(() => key.seal(new Uint8Array(0), aad))));
    expect(results.filter((r) => r === 'RETURNED')).toHaveLength(5);
    expect(results.filter((r) => r === 'E_KEY_USAGE_LIMIT')).toHaveLength(15);
  });

  test('a refused call does not use up the budget', async () => {
    const key = await freshKey({ messageLimit: 1 });
    expect(await codeOf(() => key.seal('text' as unknown as Uint8Array, aad))).toBe('E_INVALID_ARGUMENT');
    expect(key.messagesSealed).toBe(0);
    expect(await codeOf(() => key.seal(new Uint8Array(0), aad))).toBe('RETURNED');
  });

  test('the limit must be 1..2^32', async () => {
    for (const messageLimit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_MESSAGES_PER_KEY + 1]) {
      expect(await codeOf(() => freshKey({ messageLimit })), `messageLimit ${String(messageLimit)}`).toBe('E_INVALID_ARGUMENT');
    }
    expect(MAX_MESSAGES_PER_KEY).toBe(2 ** 32);
    expect(await codeOf(() => freshKey({ messageLimit: 1 }))).toBe('RETURNED');
    expect(await codeOf(() => freshKey({ messageLimit: MAX_MESSAGES_PER_KEY }))).toBe('RETURNED');
  });
});

describe('bad parameters', () => {
  test('a key that is not 32 bytes is E_INVALID_ARGUMENT (AES-128 and AES-192 sizes included)', async () => {
    for (const length of [0, 1, 16, 24, 31, 33, 64]) {
      expect(await codeOf(() => SealingKey.import(new Uint8Array(length))), `${String(length)}-byte key`).toBe('E_INVALID_ARGUMENT');
    }
  });

  test('a key that is not a Uint8Array is E_INVALID_ARGUMENT, even with 32 bytes inside', async () => {
    const notBytes: unknown[] = [undefined, null, 'k'.repeat(32), new Array<number>(32).fill(1), new ArrayBuffer(32), new Uint16Array(16), new DataView(new ArrayBuffer(32)), {}];
    for (const value of notBytes) {
      expect(await codeOf(() => SealingKey.import(value as Uint8Array)), Object.prototype.toString.call(value)).toBe('E_INVALID_ARGUMENT');
    }
  });

  test('seal and open check their arguments', async () => {
    const key = await freshKey();
    const frame = await key.seal(Uint8Array.of(1), aad);
    const bad = ['text', [1, 2], new ArrayBuffer(4), null, undefined] as unknown as Uint8Array[];
    for (const value of bad) {
      expect(await codeOf(() => key.seal(value, aad))).toBe('E_INVALID_ARGUMENT');
      expect(await codeOf(() => key.seal(Uint8Array.of(1), value))).toBe('E_INVALID_ARGUMENT');
      expect(await codeOf(() => key.open(value, aad))).toBe('E_INVALID_ARGUMENT');
      expect(await codeOf(() => key.open(frame, value))).toBe('E_INVALID_ARGUMENT');
    }
    expect(key.messagesSealed).toBe(1);
  });

  test('a plaintext above 256 MiB is E_TOO_LARGE before anything is encrypted', async () => {
    const key = await freshKey({ messageLimit: 1 });
    // Zero-filled and never written, so the pages are not touched; the length check comes first.
    expect(await codeOf(() => key.seal(new Uint8Array(MAX_BLOB_PLAINTEXT + 1), aad))).toBe('E_TOO_LARGE');
    expect(key.messagesSealed).toBe(0);
  });
});
