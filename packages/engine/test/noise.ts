import { pseudoRandomBytes } from '../../core/test/arbitraries.ts';

/** Deterministic bytes that do not compress: media-like test content, the same on every run (core's xorshift32 noise). */
export function noise(seed: number, length: number): Uint8Array {
  return pseudoRandomBytes(length, seed);
}
