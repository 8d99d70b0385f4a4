/**
 * A pack worker thread: what a backup and a restore do per byte, off the main thread.
 *
 * Store: compress each blob (zstd, or stored when that does not pay), seal it into this
 * worker's open pack (worker-pack.ts), and announce the pack's bytes segment by segment and the
 * finished pack with its name and header entries, for the index.
 *
 * Open: authenticate a blob frame, decode it and check its plaintext against its id
 * (format.md §9.4); only verified plaintext is written to the place the main thread gave.
 *
 * Blobs, segments and plaintexts lie in shared memory; messages carry offsets (pack-protocol.ts).
 */
import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { type FromPackWorker, OPEN_BLOB_BYTES, type OpenFailure, type OpenRequest, type PackWorkerInit, type ToPackWorker } from './pack-protocol.ts';
import { BlobAad, FrameError, objectKey, openFrame } from './worker-frames.ts';
import { Packer } from './packer.ts';
import { SegmentSlots } from './worker-pack.ts';
import { madeGarbage } from './worker-gc.ts';
import { ZstdDecodeError, ZstdDecoder } from './zstd-decoder.ts';
import { IdMac } from './id-mac.ts';

interface State {
  readonly settings: PackWorkerInit;
  readonly ring: Uint8Array;
  readonly packer: Packer;
  readonly blobAad: BlobAad;
  readonly idMac: IdMac;
  readonly decoder: ZstdDecoder;
  readonly scratch: Scratch;
}

let state: State | undefined;

function post(message: FromPackWorker): void {
  parentPort?.postMessage(message);
}

function start(settings: PackWorkerInit): State {
  const ring = new Uint8Array(settings.ring);
  return {
    settings,
    ring,
    packer: new Packer(settings, ring, new SegmentSlots(settings.segments, settings.segmentBytes, settings.segmentCount, settings.control), sink),
    blobAad: new BlobAad(settings.labels.blobAad),
    idMac: new IdMac(settings.idKey),
    decoder: new ZstdDecoder(),
    scratch: new Scratch(),
  };
}

const sink = {
  segment(pack: number, slot: number, length: number): void {
    post({ op: 'segment', pack, slot, length });
  },
  packed(pack: number, id: string, salt: Uint8Array, entries: Uint8Array): void {
    post({ op: 'packed', pack, id, salt, entries });
  },
};

/** Each decipher object is garbage too, with native memory V8 does not see: counted generously. */
const DECIPHER_GARBAGE_BYTES = 2048;

/** A restore reads packs one after another; a few recent keys are all it needs. */
const readKeys = new Map<string, KeyObject>();

function readKey(s: State, salt: Uint8Array): KeyObject {
  const name = Buffer.from(salt).toString('hex');
  let key = readKeys.get(name);
  if (!key) {
    if (readKeys.size >= 16) readKeys.clear();
    key = objectKey(s.settings.subkey, salt, s.settings.labels.pack);
    readKeys.set(name, key);
  }
  return key;
}

/**
 * Opens one blob into `out`: authenticated, decoded, of the indexed length, and MACing to its id.
 * A stored payload is decrypted straight into `out`; a compressed one into a scratch buffer that
 * zstd then decodes into `out`. On any failure `out` is cleared: unverified plaintext never stays
 * where the main thread writes files from.
 */
function openBlob(s: State, key: KeyObject, frame: Uint8Array, type: number, blobs: Uint8Array, at: number, out: Uint8Array): void {
  // The payload's encoding byte, then the bytes after it as they come (an object: a closure fills it).
  const got = { encoding: -1, filled: 0, overflow: false };
  const take = (part: Uint8Array): void => {
    let bytes = part;
    if (got.encoding < 0 && bytes.length > 0) {
      got.encoding = bytes[0] as number;
      bytes = bytes.subarray(1);
    }
    const target = got.encoding === 0 ? out : s.scratch.room(got.filled + bytes.length);
    if (got.filled + bytes.length > target.length) got.overflow = true;
    else target.set(bytes, got.filled);
    got.filled += bytes.length;
  };
  try {
    openFrame(key, frame, s.blobAad.for(type, blobs, at), take);
    const { encoding, filled, overflow } = got;
    if (encoding === 0) {
      if (overflow || filled !== out.length) throw new FrameError('E_FORMAT', `is ${String(filled)} bytes, the index says ${String(out.length)}`);
    } else if (encoding === 1) {
      try {
        // Straight into the plaintext's place in shared memory.
        s.decoder.decodeInto(s.scratch.room(filled).subarray(0, filled), out);
      } catch (error) {
        throw new FrameError('E_FORMAT', error instanceof ZstdDecodeError ? error.message : 'does not decompress');
      }
    } else {
      throw new FrameError('E_FORMAT', `has unknown encoding ${String(encoding)}`);
    }
    if (!s.idMac.matches(out, blobs.subarray(at, at + 32))) throw new FrameError('E_INTEGRITY', 'does not hash to its id');
  } catch (error) {
    out.fill(0);
    throw error;
  }
}

/** A buffer that grows to the largest compressed payload opened, kept for the next. */
class Scratch {
  #bytes = new Uint8Array(64 * 1024);

  /** The buffer, with room for at least `size` bytes (what it held is kept). */
  room(size: number): Uint8Array {
    if (size > this.#bytes.length) {
      const bigger = new Uint8Array(Math.max(size, 2 * this.#bytes.length));
      bigger.set(this.#bytes);
      this.#bytes = bigger;
    }
    return this.#bytes;
  }
}

function open(s: State, request: OpenRequest): void {
  const key = readKey(s, request.salt);
  const { blobs } = request;
  const view = new DataView(blobs.buffer, blobs.byteOffset, blobs.byteLength);
  const failures: OpenFailure[] = [];
  for (let i = 0, base = 0; base < blobs.length; i++, base += OPEN_BLOB_BYTES) {
    const frameAt = view.getUint32(base + 33);
    const frameLength = view.getUint32(base + 37);
    const rawLength = view.getUint32(base + 41);
    const outAt = view.getUint32(base + 45);
    madeGarbage(frameLength + rawLength + DECIPHER_GARBAGE_BYTES);
    try {
      openBlob(s, key, s.ring.subarray(frameAt, frameAt + frameLength), blobs[base] ?? 0, blobs, base + 1, s.ring.subarray(outAt, outAt + rawLength));
    } catch (error) {
      failures.push({ index: i, code: error instanceof FrameError ? error.code : 'E_INTEGRITY', message: error instanceof Error ? error.message : String(error) });
    }
  }
  post({ op: 'opened', seq: request.seq, failures });
}

function handle(message: ToPackWorker): void {
  if (message.op === 'init') {
    state = start(message);
    return;
  }
  if (!state) throw new Error('pack worker used before init');
  switch (message.op) {
    case 'hash':
      post({ op: 'hashed', seq: message.seq, ids: state.idMac.ofSpans(state.ring, message.spans) });
      return;
    case 'store':
      state.packer.store(message.type, message.spans, message.ids);
      post({ op: 'stored', seq: message.seq });
      return;
    case 'flush':
      state.packer.flush();
      post({ op: 'flushed', seq: message.seq });
      return;
    case 'open':
      open(state, message);
      return;
  }
}

parentPort?.on('message', (message: ToPackWorker) => {
  try {
    handle(message);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    post({ op: 'failed', seq: 'seq' in message ? message.seq : -1, code: typeof code === 'string' ? code : undefined, message: error instanceof Error ? error.message : String(error) });
  }
});
