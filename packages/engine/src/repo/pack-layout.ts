/**
 * The parts of the version-2 pack layout (format.md §9.5) that both pack writers share — the
 * portable PackBuilder (pack.ts) and the pack workers' OpenPack (node/worker-pack.ts): the entry
 * size, the header and the padding.
 *
 * Padding. A pack's length is the one thing
 * about it a storage sees; without padding it is the sum of its blobs' compressed sizes, and a
 * chat app's next backup can then tell an attacker who planted a message whether it compressed
 * against a secret in the history (a compression oracle, as in CRIME). Padding every pack to a
 * multiple of 64 KiB hides a difference of d bytes in all but about d / 65536 of the cases — a
 * match saving 30 bytes shows in fewer than 1 in 2,000 — at a cost of 32 KiB per pack on
 * average: 0.2 % of a 16 MiB pack, and one or two such tails for a day's backup.
 *
 * No imports: the pack workers load nothing but node: modules.
 */

/** A version-2 pack's length is a multiple of this. */
export const PACK_ALIGN = 64 * 1024;
/** A §6 frame: version, nonce and tag around the plaintext. */
const FRAME_OVERHEAD = 1 + 12 + 16;
/** count:u32 ‖ padding:u32 before the entries of a version-2 header. */
const HEADER_FIXED = 8;
/** One header or index entry: type:u8 ‖ blob_id:32 ‖ offset:u32 ‖ length:u32 ‖ raw_length:u32. */
export const ENTRY_BYTES = 1 + 32 + 4 + 4 + 4;

/** A version-2 header: count:u32 ‖ padding:u32 ‖ the entries (ENTRY_BYTES each, already laid out in `entries`). */
export function packHeader(padding: number, entries: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_FIXED + entries.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, entries.length / ENTRY_BYTES);
  view.setUint32(4, padding);
  out.set(entries, HEADER_FIXED);
  return out;
}

/**
 * The padding frame's whole length for a pack whose blob frames end at `blobsEnd` and whose
 * header has `count` entries: 0, or at least a frame's overhead (the smallest frame there is).
 */
export function packPadding(blobsEnd: number, count: number): number {
  const unpadded = blobsEnd + FRAME_OVERHEAD + HEADER_FIXED + count * ENTRY_BYTES + 4;
  let padding = (PACK_ALIGN - (unpadded % PACK_ALIGN)) % PACK_ALIGN;
  if (padding > 0 && padding < FRAME_OVERHEAD) padding += PACK_ALIGN;
  return padding;
}

/** The zero bytes a padding frame of `padding` bytes seals. */
export function paddingPlaintext(padding: number): Uint8Array {
  return new Uint8Array(padding - FRAME_OVERHEAD);
}
