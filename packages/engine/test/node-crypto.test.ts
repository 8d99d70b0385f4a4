/**
 * node:crypto and WebCrypto must be interchangeable for the engine's bulk
 * primitives: each opens the other's frames, they agree on MACs and hashes,
 * and the Node opener rejects every single-bit flip like core does.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { CofferError, hmacSha256, randomBytes, toHex } from '@coffer/core';
import { webBulkCrypto } from '../src/repo/bulk-crypto.ts';
import { nodeBulkCrypto } from '../src/node/node-crypto.ts';
import { BulkPool, pooledBulkCrypto } from '../src/node/bulk-pool.ts';

const pool = new BulkPool(2);
const pooled = pooledBulkCrypto(pool);
afterAll(async () => {
  await pool.close();
});

const sizes = [0, 1, 15, 16, 17, 1000, 65_536, 1_048_577];

describe('node:crypto bulk primitives match WebCrypto', () => {
  test.each(sizes)('frames of %i bytes open across implementations', async (size) => {
    const key = randomBytes(32);
    const aad = randomBytes(45);
    const plaintext = randomBytes(size);
    const web = await webBulkCrypto.sealer(key, 10);
    const node = await nodeBulkCrypto.sealer(key, 10);
    expect(toHex(await web.open(await node.seal(plaintext, aad), aad))).toBe(toHex(plaintext));
    expect(toHex(await node.open(await web.seal(plaintext, aad), aad))).toBe(toHex(plaintext));
    const worker = await pooled.sealer(key, 10);
    expect(toHex(await web.open(await worker.seal(plaintext, aad), aad))).toBe(toHex(plaintext));
    expect(toHex(await worker.open(await node.seal(plaintext, aad), aad))).toBe(toHex(plaintext));
  });

  test('MAC and hash agree', async () => {
    for (const size of sizes) {
      const key = randomBytes(32);
      const data = randomBytes(size);
      expect(toHex(await nodeBulkCrypto.hmacSha256(key, data))).toBe(toHex(await hmacSha256(key, data)));
      expect(toHex(await pooled.hmacSha256(key, data))).toBe(toHex(await hmacSha256(key, data)));
      expect(toHex(await nodeBulkCrypto.sha256(data))).toBe(toHex(await webBulkCrypto.sha256(data)));
    }
  });

  test('every single-bit flip of a frame, and a wrong AAD, is E_AUTH_FAILED or a format error; nothing is returned', async () => {
    const key = randomBytes(32);
    const aad = randomBytes(33);
    const node = await nodeBulkCrypto.sealer(key, 10);
    const frame = await node.seal(randomBytes(64), aad);
    let detected = 0;
    for (let bit = 0; bit < frame.length * 8; bit++) {
      const damaged = frame.slice();
      damaged[bit >> 3] = (damaged[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      const error: unknown = await node.open(damaged, aad).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(CofferError);
      expect(['E_AUTH_FAILED', 'E_UNSUPPORTED_VERSION']).toContain((error as CofferError).code);
      detected++;
    }
    expect(detected).toBe(frame.length * 8);
    await expect(node.open(frame, randomBytes(33))).rejects.toMatchObject({ code: 'E_AUTH_FAILED' });
  });

  test('the worker pool reports a damaged frame as E_AUTH_FAILED and keeps the message limit', async () => {
    const key = randomBytes(32);
    const worker = await pooled.sealer(key, 1);
    const frame = await worker.seal(randomBytes(100), new Uint8Array(0));
    frame[20] = (frame[20] ?? 0) ^ 1;
    await expect(worker.open(frame, new Uint8Array(0))).rejects.toMatchObject({ code: 'E_AUTH_FAILED' });
    await expect(worker.seal(new Uint8Array(1), new Uint8Array(0))).rejects.toMatchObject({ code: 'E_KEY_USAGE_LIMIT' });
  });

  test('every frame has its own nonce, across refills of the nonce pool', async () => {
    // The pool holds 341 nonces: 2,000 frames refill it five times.
    const node = await nodeBulkCrypto.sealer(randomBytes(32), 2000);
    const nonces = new Set<string>();
    for (let i = 0; i < 2000; i++) nonces.add(toHex((await node.seal(new Uint8Array(1), new Uint8Array(0))).subarray(1, 13)));
    expect(nonces.size).toBe(2000);
  });

  test('the per-key message limit holds', async () => {
    const node = await nodeBulkCrypto.sealer(randomBytes(32), 2);
    await node.seal(new Uint8Array(1), new Uint8Array(0));
    await node.seal(new Uint8Array(1), new Uint8Array(0));
    await expect(node.seal(new Uint8Array(1), new Uint8Array(0))).rejects.toMatchObject({ code: 'E_KEY_USAGE_LIMIT' });
  });
});
