/** Small byte helpers the drivers share. */
import { toHex } from '@coffer/core';
import type { ByteRange } from './storage.ts';

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A private copy, so neither the caller nor the store can change the other's bytes later. */
export function copyBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/** The part of a body a range asks for, clipped at the end as the contract says. */
export function sliceRange(body: Uint8Array, range: ByteRange | undefined): Uint8Array {
  if (range === undefined) return body;
  const start = Math.min(range.offset, body.length);
  return body.subarray(start, Math.min(start + range.length, body.length));
}

/**
 * The version token of drivers that have no server-side version: the SHA-256
 * of the content. Equal tokens mean equal bytes, so a swap that checks the
 * token checks exactly "the pointer still says what I read".
 */
export async function contentVersion(body: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', copyBytes(body));
  return toHex(new Uint8Array(digest));
}
