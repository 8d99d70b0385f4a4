// @ts-check
// The small-file reader's thread (small-files.ts): reads whole small files into the shared ring
// with plain blocking calls, a batch per message. Plain JavaScript with only Node built-ins, so
// the thread starts without Node's TypeScript stripper and without the bundle.
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

/** @type {Uint8Array} */
const ring = new Uint8Array(/** @type {SharedArrayBuffer} */ (workerData.ring));
// O_NONBLOCK: a file swapped for a FIFO since the walk must fail at its read, not hang the open.
const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * Reads one file from its start into ring[offset, offset + length); returns the bytes read. A
 * short read past the walked size `expected` is the file's end (see read-ahead.ts).
 * @param {string} path
 * @param {number} offset
 * @param {number} length
 * @param {number} expected
 */
function readWhole(path, offset, length, expected) {
  const fd = openSync(path, FLAGS);
  try {
    let done = 0;
    while (done < length) {
      const read = readSync(fd, ring, offset + done, length - done, done);
      done += read;
      if (read === 0 || (done < length && done >= expected)) break;
    }
    return done;
  } finally {
    closeSync(fd);
  }
}

parentPort?.on('message', (/** @type {{ seq: number, paths: string[], spans: Float64Array }} */ batch) => {
  const lengths = new Float64Array(batch.paths.length);
  /** @type {{ index: number, code: string | undefined, message: string }[]} */
  const errors = [];
  for (const [i, path] of batch.paths.entries()) {
    const spans = batch.spans;
    try {
      lengths[i] = readWhole(path, spans[3 * i] ?? 0, spans[3 * i + 1] ?? 0, spans[3 * i + 2] ?? 0);
    } catch (error) {
      lengths[i] = -1;
      const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
      errors.push({ index: i, code, message: error instanceof Error ? error.message : String(error) });
    }
  }
  parentPort?.postMessage({ seq: batch.seq, lengths, errors });
});
