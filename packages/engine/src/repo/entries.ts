/**
 * Blob entries as the index keeps them: the 45-byte records of format.md §9.5/§9.6, one after
 * another in a single buffer, turned into PackEntry objects only when a caller asks for them.
 */
import { fail } from '@coffer/core';
import { BLOB_TYPE_CODES } from './blob.ts';
import { ENTRY_BYTES } from './pack-layout.ts';
import type { PackEntry } from './pack.ts';

export { ENTRY_BYTES };

/** Writes one 45-byte entry (type ‖ id ‖ offset ‖ length ‖ raw_length) at `at`; returns the offset after it. */
export function writePackEntry(out: Uint8Array, view: DataView, at: number, e: PackEntry): number {
  if (e.id.length !== 32) fail('E_INVALID_ARGUMENT', 'a blob id is 32 bytes');
  out[at] = BLOB_TYPE_CODES[e.type];
  out.set(e.id, at + 1);
  view.setUint32(at + 33, e.offset);
  view.setUint32(at + 37, e.length);
  view.setUint32(at + 41, e.rawLength);
  return at + ENTRY_BYTES;
}

export function encodeEntries(entries: readonly PackEntry[]): Uint8Array {
  const out = new Uint8Array(entries.length * ENTRY_BYTES);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const entry of entries) at = writePackEntry(out, view, at, entry);
  return out;
}

export function decodeEntries(bytes: Uint8Array): PackEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: PackEntry[] = [];
  for (let at = 0; at + ENTRY_BYTES <= bytes.length; at += ENTRY_BYTES) {
    entries.push({
      type: bytes[at] === 0 ? 'data' : 'tree',
      id: bytes.slice(at + 1, at + 33),
      offset: view.getUint32(at + 33),
      length: view.getUint32(at + 37),
      rawLength: view.getUint32(at + 41),
    });
  }
  return entries;
}

/** Rejects entries of an unknown blob type (E_FORMAT), so decodeEntries never has to. */
export function checkEntries(bytes: Uint8Array, where: string): void {
  if (bytes.length % ENTRY_BYTES !== 0) fail('E_FORMAT', `${where}: entries cut short`);
  for (let at = 0; at < bytes.length; at += ENTRY_BYTES) {
    const code = bytes[at] as number;
    if (code > 1) fail('E_FORMAT', `${where}: unknown blob type ${String(code)}`);
  }
}
