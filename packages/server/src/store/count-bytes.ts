import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { BodyLengthError } from './blob-store.ts';

const tooLong = (size: number) => new BodyLengthError(`the body is longer than the announced ${String(size)} bytes`);
const tooShort = (seen: number, size: number) => new BodyLengthError(`the body ended after ${String(seen)} of ${String(size)} bytes`);

/** Passes bytes through and fails the pipeline when the total is not exactly `size`. */
export function countBytes(size: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > size) {
        done(tooLong(size));
        return;
      }
      done(null, chunk);
    },
    flush(done) {
      done(seen === size ? null : tooShort(seen, size));
    },
  });
}

/**
 * Gathers a body of exactly `size` bytes as its chunks (kept as they came, not
 * copied); rejects with a BodyLengthError — having stopped reading — when it is
 * longer or shorter.
 */
export async function gatherBytes(body: Readable, size: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let seen = 0;
  // Leaving the loop by a throw destroys the body: nothing more is read after an error.
  for await (const chunk of body as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > size) throw tooLong(size);
    chunks.push(chunk);
  }
  if (seen !== size) throw tooShort(seen, size);
  return chunks;
}
