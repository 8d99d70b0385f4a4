/** Hex for map keys and content lists (src/repo/hex.ts) agrees with core's toHex and fromHex. */
import { randomBytes } from 'node:crypto';
import { expect, test } from 'vitest';
import { fromHex, toHex } from '@coffer/core';
import { bytesOfHex, flatHex } from '../src/repo/hex.ts';

test('flatHex and bytesOfHex agree with core on every byte value and on random ids', () => {
  const every = Uint8Array.from({ length: 256 }, (_, i) => i);
  expect(flatHex(every)).toBe(toHex(every));
  for (let i = 0; i < 200; i++) {
    const id = new Uint8Array(randomBytes(i % 3 === 0 ? 32 : i % 40));
    expect(flatHex(id)).toBe(toHex(id));
    expect(bytesOfHex(toHex(id))).toEqual(fromHex(toHex(id)));
  }
  expect(bytesOfHex('ABcd')).toEqual(Uint8Array.of(0xab, 0xcd));
});

test('bytesOfHex refuses what is not hex', () => {
  for (const bad of ['a', 'zz', '0g', 'é0', ' 0', '0x']) expect(bytesOfHex(bad), bad).toBeUndefined();
});
