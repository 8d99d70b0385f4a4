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
import { type KeyObject, createHmac, createSecretKey } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { type FromPackWorker, type HashRequest, OPEN_BLOB_BYTES, type OpenFailure, type OpenRequest, type PackWorkerInit, type StoreRequest, type ToPackWorker } from './pack-protocol.ts';
import { BlobAad, FrameError, objectKey, openFrame } from './worker-frames.ts';
import { OpenPack, SegmentSlots } from './worker-pack.ts';
import { madeGarbage } from './worker-gc.ts';
import { ZstdDecodeError, ZstdDecoder } from './zstd-decoder.ts';
import { ZstdEncoder } from './zstd-encoder.ts';

/** Large blobs are compressed only if their first 64 KiB shrink: media never does. */
const PROBE_BYTES = 64 * 1024;

interface State {
  readonly settings: PackWorkerInit;
  readonly ring: Uint8Array;
  readonly slots: SegmentSlots;
  readonly blobAad: BlobAad;
  readonly headerLabel: Uint8Array;
  readonly idKey: KeyObject;
  /** Small blobs (pages, probes) get a context with tables sized for 64 KiB. */
  readonly small: ZstdEncoder | undefined;
  readonly large: ZstdEncoder | undefined;
  readonly decoder: ZstdDecoder;
  pack: OpenPack | undefined;
  packs: number;
}

let state: State | undefined;

function post(message: FromPackWorker): void {
  parentPort?.postMessage(message);
}

function start(settings: PackWorkerInit): State {
  return {
    settings,
    ring: new Uint8Array(settings.ring),
    slots: new SegmentSlots(settings.segments, settings.segmentBytes, settings.segmentCount, settings.control),
    blobAad: new BlobAad(settings.labels.blobAad),
    headerLabel: new TextEncoder().encode(settings.labels.headerAad),
    idKey: createSecretKey(settings.idKey),
    small: settings.level === null ? undefined : new ZstdEncoder(settings.level, 16),
    large: settings.level === null ? undefined : new ZstdEncoder(settings.level),
    decoder: new ZstdDecoder(),
    pack: undefined,
    packs: 0,
  };
}

function pays(original: number, compressed: number): boolean {
  return compressed < original - (original >> 4);
}

/** zstd when it shrinks the blob by at least 1/16, else undefined (stored as it is). A view: use it before the next call. */
function compress(s: State, data: Uint8Array): Uint8Array | undefined {
  if (!s.small || !s.large) return undefined;
  if (data.length > 2 * PROBE_BYTES && !pays(PROBE_BYTES, s.small.encode(data.subarray(0, PROBE_BYTES)).length)) return undefined;
  const out = data.length <= PROBE_BYTES ? s.small.encode(data) : s.large.encode(data);
  return pays(data.length, out.length) ? out : undefined;
}

const STORED = Uint8Array.of(0);
const ZSTD = Uint8Array.of(1);

const sink = {
  segment(pack: number, slot: number, length: number): void {
    post({ op: 'segment', pack, slot, length });
  },
  packed(pack: number, id: string, salt: Uint8Array, entries: Uint8Array): void {
    post({ op: 'packed', pack, id, salt, entries });
  },
};

/** Each Hmac object and digest is garbage too, with native memory V8 does not see: count it generously. */
const HMAC_GARBAGE_BYTES = 2048;

function hash(s: State, request: HashRequest): Uint8Array {
  const { spans } = request;
  const ids = new Uint8Array(16 * spans.length);
  for (let i = 0; 2 * i < spans.length; i++) {
    const at = spans[2 * i] ?? 0;
    ids.set(createHmac('sha256', s.idKey).update(s.ring.subarray(at, at + (spans[2 * i + 1] ?? 0))).digest(), 32 * i);
    madeGarbage(HMAC_GARBAGE_BYTES);
  }
  return ids;
}

function store(s: State, request: StoreRequest): void {
  const { spans, ids, type } = request;
  for (let i = 0; 2 * i < spans.length; i++) {
    const data = s.ring.subarray(spans[2 * i], (spans[2 * i] ?? 0) + (spans[2 * i + 1] ?? 0));
    s.pack ??= new OpenPack(s.packs++, s.settings.subkey, s.settings.labels.pack, s.slots, sink);
    const compressed = compress(s, data);
    s.pack.addBlob(type, ids, 32 * i, compressed ? ZSTD : STORED, compressed ?? data, s.blobAad.for(type, ids, 32 * i), data.length);
    // Sealing makes about as much garbage (cipher outputs) as it seals.
    madeGarbage(data.length + HMAC_GARBAGE_BYTES);
    if (s.pack.size >= s.settings.packBytes || s.pack.count >= s.settings.maxEntries) finishPack(s);
  }
}

function finishPack(s: State): void {
  s.pack?.finish(s.headerLabel);
  s.pack = undefined;
}

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

/** Opens one blob into `out`: authenticated, decoded, of the indexed length, and MACing to its id. */
function openBlob(s: State, key: KeyObject, frame: Uint8Array, type: number, blobs: Uint8Array, at: number, out: Uint8Array): void {
  const payload = openFrame(key, frame, s.blobAad.for(type, blobs, at));
  const body = payload.subarray(1);
  if (payload[0] === 0) {
    if (body.length !== out.length) throw new FrameError('E_FORMAT', `is ${String(body.length)} bytes, the index says ${String(out.length)}`);
    out.set(body);
  } else if (payload[0] === 1) {
    try {
      // Straight into the plaintext's place in shared memory.
      s.decoder.decodeInto(body, out);
    } catch (error) {
      out.fill(0);
      throw new FrameError('E_FORMAT', error instanceof ZstdDecodeError ? error.message : 'does not decompress');
    }
  } else {
    throw new FrameError('E_FORMAT', `has unknown encoding ${String(payload[0])}`);
  }
  const mac = createHmac('sha256', s.idKey).update(out).digest();
  if (!mac.equals(blobs.subarray(at, at + 32))) {
    // Unverified plaintext must not stay where the main thread would write it from.
    out.fill(0);
    throw new FrameError('E_INTEGRITY', 'does not hash to its id');
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
    madeGarbage(frameLength + rawLength + HMAC_GARBAGE_BYTES);
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
      post({ op: 'hashed', seq: message.seq, ids: hash(state, message) });
      return;
    case 'store':
      store(state, message);
      post({ op: 'stored', seq: message.seq });
      return;
    case 'flush':
      finishPack(state);
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
