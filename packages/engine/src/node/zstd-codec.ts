/**
 * zstd through Node's zlib (Node ≥ 22.15), run on libuv's thread pool so both
 * cores compress while the main thread chunks. Blobs that do not shrink by at
 * least 1/16 are stored as they are: media (JPEG, MP4, Opus) is already
 * compressed, and a quick probe of its first 64 KiB avoids compressing a whole
 * chunk for nothing.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { fail } from '@coffer/core';
import type { Codec } from '../repo/blob.ts';

const compress = promisify(zlib.zstdCompress);
const decompress = promisify(zlib.zstdDecompress);
const PROBE_BYTES = 64 * 1024;

function pays(original: number, compressed: number): boolean {
  return compressed < original - (original >> 4);
}

export function zstdCodec(level = 3): Codec {
  const options = { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } };
  return {
    async compress(data) {
      if (data.length > 2 * PROBE_BYTES) {
        const probe = await compress(data.subarray(0, PROBE_BYTES), options);
        if (!pays(PROBE_BYTES, probe.length)) return undefined;
      }
      const out = await compress(data, options);
      return pays(data.length, out.length) ? new Uint8Array(out.buffer, out.byteOffset, out.length) : undefined;
    },
    async decompress(data, rawLength) {
      try {
        const out = await decompress(data, { maxOutputLength: Math.max(rawLength, 1) });
        return new Uint8Array(out.buffer, out.byteOffset, out.length);
      } catch (cause) {
        return fail('E_FORMAT', 'a zstd blob does not decompress', cause);
      }
    },
  };
}
