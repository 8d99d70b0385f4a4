/**
 * The read plan of a restore: every blob the files need, grouped by the pack that holds it and
 * cut into ranges read in one go. Packs are read in the order the files first need them, each
 * range once, whatever number of files (forwards, repeated pages) use its blobs; consecutive
 * blobs with small gaps between them share a read.
 *
 * Blobs are kept in typed arrays (about 36 bytes each, uses 16): a database cut into pages has a
 * blob per 4 KiB, and objects per blob and per use held a restore's heap at a hundred MiB. A blob's
 * id is not copied: the plan keeps its index row (the index holds the id already).
 */
import type { BlobIndex } from '../repo/blob-index.ts';
import type { Repository } from '../repo/repository.ts';

const ID_BYTES = 32;

/** Blobs to read and where each one's plaintext goes. */
export class PlannedBlobs {
  readonly #index: Pick<BlobIndex, 'idAt'>;
  /** Per blob: its row in the index, which holds its id. */
  row = new Int32Array(1024);
  /** Per blob: its frame's offset and length in its pack, and its plaintext length. */
  offset = new Uint32Array(1024);
  length = new Uint32Array(1024);
  raw = new Uint32Array(1024);
  /** Per blob: its first use, or −1; uses chain through useNext. */
  firstUse = new Int32Array(1024);
  /** Per use: the file (by number in the caller's list) and the position in it. */
  useFile = new Int32Array(1024);
  usePosition = new Float64Array(1024);
  useNext = new Int32Array(1024);
  count = 0;
  uses = 0;

  constructor(index: Pick<BlobIndex, 'idAt'>) {
    this.#index = index;
  }

  /** The blob's id (a view into the index). */
  id(blob: number): Uint8Array {
    return this.#index.idAt(this.row[blob] as number);
  }

  /** The uses of a blob: [file, position] pairs. */
  *usesOf(blob: number): Generator<[number, number]> {
    for (let use = this.firstUse[blob] as number; use >= 0; use = this.useNext[use] as number) yield [this.useFile[use] as number, this.usePosition[use] as number];
  }

  add(row: number, offset: number, length: number, raw: number): number {
    const blob = this.count++;
    if (blob === this.offset.length) {
      this.row = grow(this.row, 2 * blob);
      this.offset = grow(this.offset, 2 * blob);
      this.length = grow(this.length, 2 * blob);
      this.raw = grow(this.raw, 2 * blob);
      this.firstUse = grow(this.firstUse, 2 * blob);
    }
    this.row[blob] = row;
    this.offset[blob] = offset;
    this.length[blob] = length;
    this.raw[blob] = raw;
    this.firstUse[blob] = -1;
    return blob;
  }

  use(blob: number, file: number, position: number): void {
    const use = this.uses++;
    if (use === this.useFile.length) {
      this.useFile = grow(this.useFile, 2 * use);
      this.usePosition = grow(this.usePosition, 2 * use);
      this.useNext = grow(this.useNext, 2 * use);
    }
    this.useFile[use] = file;
    this.usePosition[use] = position;
    // Prepended: the order of a blob's uses does not matter.
    this.useNext[use] = this.firstUse[blob] as number;
    this.firstUse[blob] = use;
  }
}

function grow<T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(array: T, size: number): T {
  const bigger = new (array.constructor as new (n: number) => T)(size);
  bigger.set(array);
  return bigger;
}

/** Blobs of one pack read together: bytes [start, end) of the pack; `blobs` in pack order. */
export interface PackRange {
  readonly packId: string;
  readonly salt: Uint8Array;
  readonly start: number;
  readonly end: number;
  readonly blobs: Int32Array;
  /** Sum of the blobs' raw lengths. */
  readonly plaintextBytes: number;
}

export interface RestorePlan {
  readonly blobs: PlannedBlobs;
  readonly ranges: PackRange[];
  /** Files that need a blob the index does not have: file number → the missing blob (hex). */
  readonly missing: Map<number, string>;
}

/** Bytes between two blobs that are read rather than skipped with a second read. */
const GAP_BYTES = 256 * 1024;

/** Builds a plan file by file: each file's ids are needed only while it is added. */
export class ReadPlanner {
  readonly #repository: Repository;
  readonly #blobs: PlannedBlobs;
  /** Plan blob number by index row, +1 (0: not planned yet). */
  #planned: Int32Array;
  readonly #packs = new Map<string, { salt: Uint8Array; blobs: number[] }>();
  readonly #missing = new Map<number, string>();

  constructor(repository: Repository) {
    this.#repository = repository;
    this.#blobs = new PlannedBlobs(repository.index);
    this.#planned = new Int32Array(repository.index.rows);
  }

  /** Adds file number `file`, whose content is `ids` (32 bytes each, in order). */
  add(file: number, ids: Uint8Array): void {
    const index = this.#repository.index;
    const blobs = this.#blobs;
    let position = 0;
    for (let at = 0; at < ids.length; at += ID_BYTES) {
      const id = ids.subarray(at, at + ID_BYTES);
      const row = index.row('data', id);
      if (row < 0) {
        this.#missing.set(file, Buffer.from(id).toString('hex'));
        return;
      }
      let blob = (this.#planned[row] ?? 0) - 1;
      if (blob < 0) {
        const location = index.at(row);
        blob = blobs.add(row, location.offset, location.length, location.rawLength);
        this.#planned[row] = blob + 1;
        let pack = this.#packs.get(location.pack.id);
        if (!pack) {
          pack = { salt: location.pack.salt, blobs: [] };
          this.#packs.set(location.pack.id, pack);
        }
        pack.blobs.push(blob);
      }
      blobs.use(blob, file, position);
      position += blobs.raw[blob] as number;
    }
  }

  /** The plan: ranges of at most `rangeBytes`, packs in the order files first need them. */
  finish(rangeBytes: number): RestorePlan {
    const blobs = this.#blobs;
    const ranges: PackRange[] = [];
    const end = (blob: number): number => (blobs.offset[blob] as number) + (blobs.length[blob] as number);
    for (const [packId, pack] of this.#packs) {
      pack.blobs.sort((a, b) => (blobs.offset[a] as number) - (blobs.offset[b] as number));
      let from = 0;
      const close = (to: number): void => {
        if (to === from) return;
        const members = Int32Array.from(pack.blobs.slice(from, to));
        let plaintextBytes = 0;
        for (const blob of members) plaintextBytes += blobs.raw[blob] as number;
        ranges.push({ packId, salt: pack.salt, start: blobs.offset[members[0] as number] as number, end: end(members[members.length - 1] as number), blobs: members, plaintextBytes });
        from = to;
      };
      for (let i = 1; i < pack.blobs.length; i++) {
        const blob = pack.blobs[i] as number;
        const first = pack.blobs[from] as number;
        const previous = pack.blobs[i - 1] as number;
        if ((blobs.offset[blob] as number) - end(previous) > GAP_BYTES || end(blob) - (blobs.offset[first] as number) > rangeBytes) close(i);
      }
      close(pack.blobs.length);
    }
    this.#planned = new Int32Array(0);
    return { blobs, ranges, missing: this.#missing };
  }
}
