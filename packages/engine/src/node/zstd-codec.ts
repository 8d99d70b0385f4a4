/**
 * zstd through Node's zlib (Node ≥ 22.15), run on libuv's thread pool so both
 * cores compress while the main thread chunks. Blobs that do not shrink by at
 * least 1/16 are stored as they are: media (JPEG, MP4, Opus) is already
 * compressed, and a quick probe of its first 64 KiB avoids compressing a whole
 * chunk for nothing.
 *
 * Small blobs (SQLite pages, content lists, trees) are compressed on the calling thread with the
 * input size pledged: a thread-pool round trip costs more than compressing 4 KiB, and without a
 * pledged size zstd sizes its tables for a 2 MiB window and clears them on every call (measured
 * in Node 24: ≈1.3 ms per 4 KiB page asynchronously, ≈0.11 ms synchronously with the pledge).
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { fail } from '@coffer/core';
import type { Codec } from '../repo/blob.ts';
import { ZstdDecoder } from './zstd-decoder.ts';
import { ZstdEncoder } from './zstd-encoder.ts';

const compress = promisify(zlib.zstdCompress);
const decompress = promisify(zlib.zstdDecompress);
const PROBE_BYTES = 64 * 1024;
/** Blobs up to this size are (de)compressed synchronously. */
const SMALL_BYTES = 64 * 1024;

function pays(original: number, compressed: number): boolean {
  return compressed < original - (original >> 4);
}

export function zstdCodec(level = 3): Codec {
  const options = { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } };
  // Small blobs share one context each way: a fresh one per call (zstdCompressSync) costs more
  // than a tree or content list's compression, and its allocations fragment malloc's heap.
  const encoder = new ZstdEncoder(level, 16);
  const decoder = new ZstdDecoder();
  return {
    level,
    async compress(data) {
      if (data.length > 2 * PROBE_BYTES) {
        const probe = await compress(data.subarray(0, PROBE_BYTES), options);
        if (!pays(PROBE_BYTES, probe.length)) return undefined;
      }
      // chunkSize: the output buffer (16 KiB by default) is allocated per call; size it to the input.
      const sized = { ...options, pledgedSrcSize: data.length, chunkSize: Math.max(64, Math.min(data.length + 64, 64 * 1024)) };
      if (data.length <= SMALL_BYTES) {
        const small = encoder.encode(data);
        // A copy: the encoder's output is only valid until its next call.
        return pays(data.length, small.length) ? small.slice() : undefined;
      }
      const out = await compress(data, sized);
      return pays(data.length, out.length) ? new Uint8Array(out.buffer, out.byteOffset, out.length) : undefined;
    },
    async decompress(data, rawLength) {
      try {
        if (rawLength <= SMALL_BYTES) {
          const out = new Uint8Array(rawLength);
          decoder.decodeInto(data, out);
          return out;
        }
        const out = await decompress(data, { maxOutputLength: Math.max(rawLength, 1) });
        return new Uint8Array(out.buffer, out.byteOffset, out.length);
      } catch (cause) {
        return fail('E_FORMAT', 'a zstd blob does not decompress', cause);
      }
    },
  };
}
