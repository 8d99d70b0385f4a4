import { Transform } from 'node:stream';
import { BodyLengthError } from './blob-store.ts';

/** Passes bytes through and fails the pipeline when the total is not exactly `size`. */
export function countBytes(size: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > size) {
        done(new BodyLengthError(`the body is longer than the announced ${String(size)} bytes`));
        return;
      }
      done(null, chunk);
    },
    flush(done) {
      done(seen === size ? null : new BodyLengthError(`the body ended after ${String(seen)} of ${String(size)} bytes`));
    },
  });
}
