/**
 * Keyed content-defined chunking (design-decisions §3). Pure and isomorphic: typed arrays only.
 *
 * The algorithm is FastCDC (Xia et al., "FastCDC: a Fast and Efficient Content-Defined Chunking
 * Approach for Data Deduplication", USENIX ATC 2016; extended in IEEE TPDS 2020):
 * - gear rolling hash `h = (h << 1) + G[byte]` on 32 bits, so bit k of h depends on the last
 *   k + 1 bytes and the top mask bits see a 32-byte window;
 * - cut-point skipping: the first `min` bytes of a chunk are never hashed, and the hash starts
 *   from 0 at offset `min`;
 * - normalized chunking, level 2: from `min` to `avg` a cut needs log2(avg) + 2 zero mask bits
 *   (FastCDC's MaskS, "strict" here), after `avg` only log2(avg) − 2 (MaskL, "loose"), and a
 *   chunk that reaches `max` is cut there. A chunk ends after the byte whose hash matched.
 *
 * Keying: the gear table and the positions of the mask bits come from the repository's chunker
 * subkey, so one file gives different chunk lengths in different repositories. That raises the
 * cost of chunk-size fingerprinting but is not a proof: Truong, Merz, Scarlata, Günther and
 * Paterson ("Breaking and Fixing Content-Defined Chunking", RWC 2025) recovered keyed chunker
 * parameters from attacker-chosen content, which a correspondent can send. The pack layer must
 * still hide individual chunk lengths (threat-model.md §4.6).
 */
import { LABELS, SUBKEY_BYTES, fail, hkdfSha256, wipe } from '@coffer/core';

const KiB = 1024;
const MiB = 1024 * KiB;

/** HKDF labels of the chunker parameters (to be listed in format.md §3 with the other labels). */
export const CHUNKER_LABELS = {
  gear: LABELS.chunkerGear,
  masks: LABELS.chunkerMasks,
} as const;

/** Chunk-size bounds in bytes. Every chunk but a stream's last has min < length ≤ max. */
export interface ChunkSizes {
  readonly min: number;
  /** The normal size where the stricter mask gives way to the looser one; a power of two. */
  readonly avg: number;
  readonly max: number;
}

/**
 * restic's sizes. With level-2 normalization the expected chunk on random data is ≈ 1.19 MiB
 * (sd ≈ 0.29 MiB); restic's own Rabin chunker, which skips `min` too, averages ≈ 1.5 MiB.
 */
export const DEFAULT_CHUNK_SIZES: ChunkSizes = Object.freeze({ min: 512 * KiB, avg: 1 * MiB, max: 8 * MiB });

/** Smallest `min` accepted: below it chunks cost more in per-blob overhead than they save. */
export const MIN_CHUNK_SIZE_LIMIT = 64;
/** Largest `max` accepted: a chunk is held in memory whole while it is sealed. */
export const MAX_CHUNK_SIZE_LIMIT = 64 * MiB;

/** Secret, per-repository parameters. `gear` and the masks are key material: never log them. */
export interface ChunkerParams {
  readonly sizes: ChunkSizes;
  /** 256 gear values, one per byte value. */
  readonly gear: Uint32Array;
  /** log2(avg) + 2 bits; a cut between `min` and `avg` needs all of them zero (FastCDC MaskS). */
  readonly strictMask: number;
  /** log2(avg) − 2 of the strict mask's bits, used from `avg` to `max` (FastCDC MaskL). */
  readonly looseMask: number;
}

/**
 * Finds where chunks end in a byte stream fed piece by piece. It never keeps a piece: its state
 * is a position and a hash, so cuts do not depend on how the stream is split into pieces.
 */
export interface BoundaryPolicy {
  /** An upper bound on every chunk's length; the assembler sizes its buffer from it. */
  readonly maxChunkSize: number;
  /** Offsets in `piece`, ascending, each in 1..piece.length, after which a chunk ends. */
  scan(piece: Uint8Array): number[];
  /** Forgets the current chunk, ready for a new stream. */
  reset(): void;
}

const GEAR_ENTRIES = 256;
/**
 * Mask bits are picked among hash bits 4..31. Bit k of the gear hash depends on the last k + 1
 * bytes only, so the lowest bits are left out: a cut should not hang on two or three bytes.
 */
const MASK_BIT_LOW = 4;
const MASK_BIT_COUNT = 32 - MASK_BIT_LOW;
/** Normalization level 2 (FastCDC §3.3): ±2 mask bits around log2(avg). */
const NORMALIZATION = 2;

/**
 * Derives the per-repository chunker parameters from the 32-byte chunker subkey
 * (`deriveSubkey(root, repositoryId, 'chunker')`):
 *
 *     gear  = HKDF-SHA256(ikm = chunker key, salt = "", info = "coffer/v1/chunker/gear",  L = 1024)
 *             read as 256 little-endian u32
 *     order = HKDF-SHA256(ikm = chunker key, salt = "", info = "coffer/v1/chunker/masks", L = 108)
 *             read as 27 little-endian u32 r[0..26]; Fisher–Yates over the bit positions
 *             p = [4, 5, …, 31]: for k = 27 down to 1, swap p[k] and p[r[27 − k] mod (k + 1)]
 *     strict mask = bits p[0 .. log2(avg) + 1],  loose mask = bits p[0 .. log2(avg) − 3]
 *
 * The modulo bias of the shuffle is below 2^-27 per step, far under anything chunk lengths show.
 * The sizes are public (they sit in the config header) and do not enter the derivation.
 */
export async function deriveChunkerParams(chunkerKey: Uint8Array, sizes: ChunkSizes = DEFAULT_CHUNK_SIZES): Promise<ChunkerParams> {
  if (!(chunkerKey instanceof Uint8Array) || chunkerKey.length !== SUBKEY_BYTES) {
    fail('E_INVALID_ARGUMENT', `the chunker key must be a ${String(SUBKEY_BYTES)}-byte Uint8Array`);
  }
  const checked = checkChunkSizes(sizes);
  const salt = new Uint8Array(0);
  const [gearBytes, orderBytes] = await Promise.all([
    hkdfSha256(chunkerKey, salt, utf8(CHUNKER_LABELS.gear), GEAR_ENTRIES * 4),
    hkdfSha256(chunkerKey, salt, utf8(CHUNKER_LABELS.masks), (MASK_BIT_COUNT - 1) * 4),
  ]);
  const gear = readUint32s(gearBytes);
  const positions = shuffledBitPositions(readUint32s(orderBytes));
  wipe(gearBytes, orderBytes);
  const bits = Math.log2(checked.avg);
  return Object.freeze({
    sizes: checked,
    gear,
    strictMask: maskOf(positions.slice(0, bits + NORMALIZATION)),
    looseMask: maskOf(positions.slice(0, bits - NORMALIZATION)),
  });
}

/** Validates chunk sizes and returns a frozen copy. Throws E_INVALID_ARGUMENT. */
export function checkChunkSizes(sizes: ChunkSizes): ChunkSizes {
  if (!isObject(sizes)) fail('E_INVALID_ARGUMENT', 'chunk sizes must be an object { min, avg, max }');
  const { min, avg, max } = sizes;
  for (const [name, value] of [['min', min], ['avg', avg], ['max', max]] as const) {
    if (!Number.isSafeInteger(value)) fail('E_INVALID_ARGUMENT', `chunk size ${name} must be an integer`);
  }
  if (min < MIN_CHUNK_SIZE_LIMIT || max > MAX_CHUNK_SIZE_LIMIT) {
    fail('E_INVALID_ARGUMENT', `chunk sizes must lie in ${String(MIN_CHUNK_SIZE_LIMIT)}..${String(MAX_CHUNK_SIZE_LIMIT)} bytes`);
  }
  if (!(min < avg && avg < max)) fail('E_INVALID_ARGUMENT', 'chunk sizes must satisfy min < avg < max');
  // The masks have log2(avg) ± 2 bits, so avg must be a power of two.
  if ((avg & (avg - 1)) !== 0) fail('E_INVALID_ARGUMENT', 'chunk size avg must be a power of two');
  return Object.freeze({ min, avg, max });
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function readUint32s(bytes: Uint8Array): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array(bytes.length >>> 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}

function shuffledBitPositions(random: Uint32Array): number[] {
  const positions = Array.from({ length: MASK_BIT_COUNT }, (_, i) => MASK_BIT_LOW + i);
  for (let k = MASK_BIT_COUNT - 1; k >= 1; k--) {
    const j = (random[MASK_BIT_COUNT - 1 - k] ?? 0) % (k + 1);
    [positions[k], positions[j]] = [positions[j] ?? 0, positions[k] ?? 0];
  }
  return positions;
}

function maskOf(positions: readonly number[]): number {
  let mask = 0;
  for (const position of positions) mask |= 1 << position;
  return mask >>> 0;
}

/*
 * The hot path. What made it fast in V8 (Node 24), measured with bench/chunker.bench.ts and
 * `perf stat` (instructions and cycles per byte):
 * - int32 everywhere: the table is read through an Int32Array (a Uint32Array load above 2^31
 *   becomes a double) and `| 0` lets the add wrap in a 32-bit register;
 * - reading the data as little-endian 32-bit words, two per iteration, so one bounds check
 *   covers 8 bytes: 6.8 instead of 13.5 instructions per input byte (perf stat, default sizes);
 * - loops that store nothing and return only a loop variable: V8 compiles a long loop on-stack
 *   in the middle of its first call, and code after it that had not run yet (a store, an
 *   `i + k`) lacked type feedback, so that cached code deoptimized again at the end of every
 *   piece (hundreds of deopts per 512 MiB).
 * Tried and dropped: unrolling the byte loop (fewer instructions, no faster), and FastCDC 2020's
 * two-bytes-per-step trick, which saves a shift that x86 already folds into `lea`.
 */

/** Index of the first byte in data[start..end) after which (h & mask) === 0, or −1; h is the hash before `start`. */
function findCut(data: Uint8Array, start: number, end: number, gear: Int32Array, mask: number, h: number): number {
  const mid = LITTLE_ENDIAN ? Math.min(end, start + ((4 - ((data.byteOffset + start) & 3)) & 3)) : end;
  const cut = cutInBytes(data, start, mid, gear, mask, h);
  if (cut >= 0 || mid === end) return cut;
  const hMid = gearHash(data, start, mid, gear, h);
  const wordsEnd = mid + ((end - mid) & ~7);
  const words = new Int32Array(data.buffer, data.byteOffset + mid, (wordsEnd - mid) >>> 2);
  const pair = cutInWordPairs(words, gear, mask, hMid);
  // Either no cut in the words, or the byte loop finds it within the 8 bytes of `pair`.
  const from = pair >= 0 ? mid + 4 * pair : wordsEnd;
  return cutInBytes(data, from, end, gear, mask, gearHash(data, mid, from, gear, hMid));
}

/** Words hold bytes low-first on every platform JS runs on today; elsewhere only the byte loop runs. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The plain gear loop, one byte at a time: the reference the word loop must agree with. */
function cutInBytes(data: Uint8Array, start: number, end: number, gear: Int32Array, mask: number, h: number): number {
  for (let i = start; i < end; i++) {
    // Both indexes are in bounds by construction: i < end ≤ data.length, and a byte is < 256.
    h = ((h << 1) + (gear[data[i] as number] as number)) | 0;
    if ((h & mask) === 0) return i;
  }
  return -1;
}

/** Index j of the first word pair (bytes 4j..4j+7) holding a cut, or −1; words.length is even. */
function cutInWordPairs(words: Int32Array, gear: Int32Array, mask: number, h: number): number {
  for (let j = 0; j < words.length; j = (j + 2) | 0) {
    const x = words[j] as number;
    const y = words[(j + 1) | 0] as number;
    h = ((h << 1) + (gear[x & 255] as number)) | 0;
    if ((h & mask) === 0) return j;
    h = ((h << 1) + (gear[(x >>> 8) & 255] as number)) | 0;
    if ((h & mask) === 0) return j;
    h = ((h << 1) + (gear[(x >>> 16) & 255] as number)) | 0;
    if ((h & mask) === 0) return j;
    h = ((h << 1) + (gear[x >>> 24] as number)) | 0;
    if ((h & mask) === 0) return j;
    h = ((h << 1) + (gear[y & 255] as number)) | 0;
    if ((h & mask) === 0) return j;
    h = ((h << 1) + (gear[(y >>> 8) & 255] as number)) | 0;
    if ((h & mask) === 0) return j;
    h = ((h << 1) + (gear[(y >>> 16) & 255] as number)) | 0;
    if ((h & mask) === 0) return j;
    h = ((h << 1) + (gear[y >>> 24] as number)) | 0;
    if ((h & mask) === 0) return j;
  }
  return -1;
}

/**
 * The gear hash after rolling `h` over data[start..end). Each step shifts everything before it
 * one bit further up, so 32 steps shift `h` out entirely: rolling only the last 32 bytes is exact.
 */
function gearHash(data: Uint8Array, start: number, end: number, gear: Int32Array, h: number): number {
  for (let i = Math.max(start, end - 32); i < end; i++) h = ((h << 1) + (gear[data[i] as number] as number)) | 0;
  return h;
}

/** FastCDC boundaries under one repository's parameters. */
export class GearBoundaries implements BoundaryPolicy {
  readonly maxChunkSize: number;
  readonly #gear: Int32Array;
  readonly #min: number;
  readonly #avg: number;
  readonly #strict: number;
  readonly #loose: number;
  /** The rolling hash carried from one piece to the next; 0 whenever offset ≤ min. */
  #hash = 0;
  /** Bytes of the current chunk seen so far. */
  #offset = 0;

  constructor(params: ChunkerParams) {
    if (!isObject(params)) fail('E_INVALID_ARGUMENT', 'chunker params must come from deriveChunkerParams');
    const sizes = checkChunkSizes(params.sizes);
    if (!(params.gear instanceof Uint32Array) || params.gear.length !== GEAR_ENTRIES) {
      fail('E_INVALID_ARGUMENT', 'the gear table must be a Uint32Array of 256 entries');
    }
    this.maxChunkSize = sizes.max;
    this.#min = sizes.min;
    this.#avg = sizes.avg;
    // A private copy: later changes to params.gear cannot change chunking half-way through.
    this.#gear = new Int32Array(Uint32Array.from(params.gear).buffer);
    this.#strict = checkMask(params.strictMask, Math.log2(sizes.avg) + NORMALIZATION);
    this.#loose = checkMask(params.looseMask, Math.log2(sizes.avg) - NORMALIZATION);
  }

  scan(piece: Uint8Array): number[] {
    if (!(piece instanceof Uint8Array)) fail('E_INVALID_ARGUMENT', 'a piece must be a Uint8Array');
    const cuts: number[] = [];
    let at = 0;
    while (at < piece.length) at = this.#advance(piece, at, cuts);
    return cuts;
  }

  reset(): void {
    this.#offset = 0;
    this.#hash = 0;
  }

  /** Moves through one phase of the current chunk (skip, strict, loose); returns the new position. */
  #advance(piece: Uint8Array, at: number, cuts: number[]): number {
    const offset = this.#offset;
    const room = piece.length - at;
    if (offset < this.#min) {
      const skipped = Math.min(this.#min - offset, room);
      this.#offset = offset + skipped;
      return at + skipped;
    }
    const strict = offset < this.#avg;
    const take = Math.min((strict ? this.#avg : this.maxChunkSize) - offset, room);
    const end = at + take;
    const cut = findCut(piece, at, end, this.#gear, strict ? this.#strict : this.#loose, this.#hash);
    if (cut >= 0) return this.#cut(cuts, cut + 1);
    this.#hash = gearHash(piece, at, end, this.#gear, this.#hash);
    this.#offset = offset + take;
    return this.#offset === this.maxChunkSize ? this.#cut(cuts, end) : end;
  }

  #cut(cuts: number[], at: number): number {
    cuts.push(at);
    this.reset();
    return at;
  }
}

function checkMask(mask: number, bits: number): number {
  if (!Number.isInteger(mask) || mask < 0 || mask > 0xffffffff || popcount(mask) !== bits) {
    fail('E_INVALID_ARGUMENT', `a chunker mask must be a u32 with ${String(bits)} bits set`);
  }
  return mask | 0;
}

function popcount(value: number): number {
  let count = 0;
  for (let v = value >>> 0; v !== 0; v >>>= 1) count += v & 1;
  return count;
}

/**
 * Turns a stream of pieces into chunks along a boundary policy. The caller owns its buffers: a
 * chunk that lies inside one piece is returned as a view of that piece (no copy; valid while the
 * caller leaves that piece unchanged), and a chunk that spans pieces is returned as a new buffer.
 * The chunker keeps no reference to a piece after `push` returns: the unfinished tail is copied,
 * so a caller may refill the same read buffer for the next piece.
 */
export class Chunker {
  readonly #policy: BoundaryPolicy;
  /** The unfinished chunk's bytes from earlier pieces; reused across chunks, grows up to max. */
  #staging = new Uint8Array(0);
  #pending = 0;

  constructor(policy: BoundaryPolicy) {
    this.#policy = policy;
  }

  /** Scans one piece (any size, empty too) and returns the chunks it completes. */
  push(piece: Uint8Array): Uint8Array[] {
    if (!(piece instanceof Uint8Array)) fail('E_INVALID_ARGUMENT', 'a piece must be a Uint8Array');
    const cuts = this.#policy.scan(piece);
    const chunks: Uint8Array[] = [];
    let start = 0;
    for (const cut of cuts) {
      chunks.push(this.#complete(piece, start, cut));
      start = cut;
    }
    this.#keep(piece.subarray(start));
    return chunks;
  }

  /**
   * Like `push`, for a stream's last piece: the bytes after the last cut come back as a final
   * chunk too — a view of the piece when nothing is pending from earlier pieces, instead of a
   * copy into the staging buffer and out again (most media files are read in one piece). Call
   * `finish()` after it all the same: it returns nothing more, and resets for the next stream.
   */
  pushLast(piece: Uint8Array): Uint8Array[] {
    if (this.#pending > 0) {
      const chunks = this.push(piece);
      if (this.#pending > 0) {
        chunks.push(this.#staging.slice(0, this.#pending));
        this.#pending = 0;
      }
      return chunks;
    }
    if (!(piece instanceof Uint8Array)) fail('E_INVALID_ARGUMENT', 'a piece must be a Uint8Array');
    const chunks: Uint8Array[] = [];
    let start = 0;
    for (const cut of this.#policy.scan(piece)) {
      chunks.push(piece.subarray(start, cut));
      start = cut;
    }
    if (start < piece.length) chunks.push(piece.subarray(start));
    return chunks;
  }

  /** Ends the stream: returns the last chunk, if any bytes are left, and resets for the next one. */
  finish(): Uint8Array[] {
    this.#policy.reset();
    if (this.#pending === 0) return [];
    const last = this.#staging.slice(0, this.#pending);
    this.#pending = 0;
    return [last];
  }

  #complete(piece: Uint8Array, start: number, end: number): Uint8Array {
    if (this.#pending === 0) return piece.subarray(start, end);
    // Only the first cut of a piece can have pending bytes, so start is 0 here.
    const chunk = new Uint8Array(this.#pending + end);
    chunk.set(this.#staging.subarray(0, this.#pending));
    chunk.set(piece.subarray(0, end), this.#pending);
    this.#pending = 0;
    return chunk;
  }

  #keep(rest: Uint8Array): void {
    if (rest.length === 0) return;
    const needed = this.#pending + rest.length;
    if (needed > this.#staging.length) this.#grow(needed);
    this.#staging.set(rest, this.#pending);
    this.#pending = needed;
  }

  #grow(needed: number): void {
    const capacity = Math.max(needed, Math.min(2 * this.#staging.length, this.#policy.maxChunkSize));
    const bigger = new Uint8Array(capacity);
    bigger.set(this.#staging.subarray(0, this.#pending));
    this.#staging = bigger;
  }
}

/** A streaming chunker with this repository's content-defined boundaries. */
export function createChunker(params: ChunkerParams): Chunker {
  return new Chunker(new GearBoundaries(params));
}
