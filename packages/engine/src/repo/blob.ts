/**
 * Blobs: the unit of deduplication (format.md §9.4). A data blob is one chunk
 * of a file; a tree blob is one directory listing. A blob's id is a keyed MAC of
 * its plaintext, so equal content dedups while ids reveal nothing to storage.
 *
 *   blob_id = HMAC(blob-id subkey, plaintext)
 *   payload = encoding:u8 (0 = stored, 1 = zstd) ‖ bytes
 */
import { concatBytes, fail } from '@coffer/core';
import { decompress as zstdDecompress } from 'fzstd';
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

/**
 * Compression is pluggable: Node uses zlib's zstd (node/zstd-codec.ts); any other runtime gets
 * portableCodec, which stores the blobs it writes as they are and reads zstd ones.
 */
export interface Codec {
  /** The zstd level it compresses at, for writers that compress elsewhere (Node's pack workers); absent: it never compresses. */
  readonly level?: number;
  /** Returns a smaller encoding, or undefined when compressing does not pay. */
  compress(data: Uint8Array): Promise<Uint8Array | undefined>;
  decompress(data: Uint8Array, rawLength: number): Promise<Uint8Array>;
}

/**
 * The codec of runtimes without a native zstd (browsers): blobs it writes are stored as they are,
 * which every reader accepts; zstd blobs written by Node are read with fzstd, a pure-JavaScript
 * decoder — no WebAssembly to load, so it runs under the strictest page CSP. The output buffer is
 * the indexed length: fzstd fills what fits (a longer frame is cut, a shorter one leaves zeros),
 * so memory stays bounded by the authenticated index and any difference fails the blob-id check
 * that follows every decode (Repository.openBlob).
 */
export const portableCodec: Codec = {
  compress: () => Promise.resolve(undefined),
  decompress: (data, rawLength) =>
    new Promise<Uint8Array>((resolve) => {
      resolve(zstdDecompress(data, new Uint8Array(rawLength)));
    }).catch((error: unknown) => fail('E_FORMAT', `a zstd payload does not decompress (${error instanceof Error ? error.message : String(error)})`)),
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
