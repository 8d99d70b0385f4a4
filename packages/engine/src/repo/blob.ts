/**
 * Blobs: the unit of deduplication (format.md §9.4). A data blob is one chunk
 * of a file; a tree blob is one directory listing. A blob's id is a keyed MAC of
 * its plaintext, so equal content dedups while ids reveal nothing to storage.
 *
 *   blob_id = HMAC(blob-id subkey, plaintext)
 *   payload = encoding:u8 (0 = stored, 1 = zstd) ‖ bytes
 */
import { concatBytes, fail } from '@coffer/core';
import { flatHex } from './hex.ts';

export type BlobType = 'data' | 'tree';
export const BLOB_TYPE_CODES: Record<BlobType, number> = { data: 0, tree: 1 };

export function blobTypeFromCode(code: number): BlobType {
  if (code === 0) return 'data';
  if (code === 1) return 'tree';
  return fail('E_FORMAT', `unknown blob type ${String(code)}`);
}

export const ENCODING_STORED = 0;
export const ENCODING_ZSTD = 1;

/** Compression is pluggable: Node uses zlib's zstd; a runtime without one stores blobs as they are. */
export interface Codec {
  /** The zstd level it compresses at, for writers that compress elsewhere (Node's pack workers); absent: it never compresses. */
  readonly level?: number;
  /** Returns a smaller encoding, or undefined when compressing does not pay. */
  compress(data: Uint8Array): Promise<Uint8Array | undefined>;
  decompress(data: Uint8Array, rawLength: number): Promise<Uint8Array>;
}

export const storeOnlyCodec: Codec = {
  compress: () => Promise.resolve(undefined),
  decompress: () => fail('E_UNSUPPORTED_VERSION', 'this runtime cannot read zstd-compressed blobs'),
};

export async function encodePayload(codec: Codec, plaintext: Uint8Array): Promise<Uint8Array> {
  const compressed = await codec.compress(plaintext);
  return compressed === undefined
    ? concatBytes(Uint8Array.of(ENCODING_STORED), plaintext)
    : concatBytes(Uint8Array.of(ENCODING_ZSTD), compressed);
}

export async function decodePayload(codec: Codec, payload: Uint8Array, rawLength: number, where: string): Promise<Uint8Array> {
  if (payload.length === 0) fail('E_FORMAT', `${where}: empty blob payload`);
  const body = payload.subarray(1);
  let plaintext: Uint8Array;
  switch (payload[0]) {
    case ENCODING_STORED:
      plaintext = body;
      break;
    case ENCODING_ZSTD:
      plaintext = await codec.decompress(body, rawLength);
      break;
    default:
      return fail('E_FORMAT', `${where}: unknown blob encoding ${String(payload[0])}`);
  }
  if (plaintext.length !== rawLength) fail('E_FORMAT', `${where}: blob is ${String(plaintext.length)} bytes, the index says ${String(rawLength)}`);
  return plaintext;
}

export function blobKey(type: BlobType, id: Uint8Array): string {
  return `${type}:${flatHex(id)}`;
}
