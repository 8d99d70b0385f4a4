import { createHmac } from 'node:crypto';
import { fromHex, toHex } from '@coffer/core';
import { describe, expect, it } from 'vitest';
import { IdMac } from '../src/node/id-mac.ts';
import { pseudoRandomBytes } from '../../core/test/arbitraries.ts';

function macOf(mac: IdMac, data: Uint8Array): string {
  const out = new Uint8Array(40);
  mac.write(data, out, 5);
  expect(out.subarray(0, 5)).toEqual(new Uint8Array(5));
  expect(out.subarray(37)).toEqual(new Uint8Array(3));
  return toHex(out.subarray(5, 37));
}

describe('IdMac', () => {
  // RFC 4231, HMAC-SHA-256 test cases 1, 2 and 6 (a key longer than a block).
  it.each([
    ['0b'.repeat(20), toHex(new TextEncoder().encode('Hi There')), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
    [toHex(new TextEncoder().encode('Jefe')), toHex(new TextEncoder().encode('what do ya want for nothing?')), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
    ['aa'.repeat(131), toHex(new TextEncoder().encode('Test Using Larger Than Block-Size Key - Hash Key First')), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
  ])('matches RFC 4231 (key %s)', (key, data, mac) => {
    expect(macOf(new IdMac(fromHex(key)), fromHex(data))).toBe(mac);
  });

  it('agrees with createHmac for every size up to and past the streaming threshold, call after call', () => {
    const key = pseudoRandomBytes(32, 7);
    const mac = new IdMac(key);
    // Longer inputs first, then shorter: nothing of an earlier input may leak into a later MAC.
    for (const size of [70_000, 16 * 1024 + 1, 16 * 1024, 4096, 4097, 65, 64, 63, 1, 0]) {
      const data = pseudoRandomBytes(size, size + 1);
      expect(macOf(mac, data), `size ${String(size)}`).toBe(createHmac('sha256', key).update(data).digest('hex'));
    }
  });

  it('reads a view at its offset, not from the start of its buffer', () => {
    const key = pseudoRandomBytes(32, 3);
    const whole = pseudoRandomBytes(10_000, 4);
    const view = whole.subarray(1234, 1234 + 4096);
    expect(macOf(new IdMac(key), view)).toBe(createHmac('sha256', key).update(view).digest('hex'));
  });

  it('ofSpans() MACs each chunk of a buffer, in order', () => {
    const key = pseudoRandomBytes(32, 5);
    const bytes = pseudoRandomBytes(40_000, 6);
    const spans = Uint32Array.of(100, 4096, 0, 0, 5000, 30_000);
    const ids = new IdMac(key).ofSpans(bytes, spans);
    expect(ids.length).toBe(96);
    for (let i = 0; i < 3; i++) {
      const at = spans[2 * i] as number;
      expect(toHex(ids.subarray(32 * i, 32 * i + 32))).toBe(createHmac('sha256', key).update(bytes.subarray(at, at + (spans[2 * i + 1] as number))).digest('hex'));
    }
  });

  it('matches() accepts the MAC and refuses any other 32 bytes, or another length', () => {
    const key = pseudoRandomBytes(32, 9);
    const mac = new IdMac(key);
    const data = pseudoRandomBytes(4096, 10);
    const good = new Uint8Array(createHmac('sha256', key).update(data).digest());
    expect(mac.matches(data, good)).toBe(true);
    for (const at of [0, 17, 31]) {
      const bad = good.slice();
      bad[at] = (bad[at] as number) ^ 1;
      expect(mac.matches(data, bad)).toBe(false);
    }
    expect(mac.matches(data, good.subarray(0, 31))).toBe(false);
  });
});
