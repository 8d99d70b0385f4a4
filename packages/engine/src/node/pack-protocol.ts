/**
 * Messages between the main thread and the pack workers (pack-worker.ts). Bytes never travel in
 * messages: blobs, pack segments and restored plaintexts lie in shared memory (shared-ring.ts),
 * and messages carry offsets into it.
 */

/** Sent once: keys, settings and the shared memories. */
export interface PackWorkerInit {
  readonly op: 'init';
  /** The blob-encryption subkey; pack keys derive from it (format.md §9.2). */
  readonly subkey: Uint8Array;
  /** The blob-id subkey, for verifying blobs on restore. */
  readonly idKey: Uint8Array;
  readonly labels: { readonly pack: string; readonly blobAad: string; readonly headerAad: string; readonly paddingAad: string };
  /** The zstd level, or null: store every blob as it is (the repository's codec cannot decompress). */
  readonly level: number | null;
  /** A pack is finished once it reaches this many bytes. */
  readonly packBytes: number;
  /** Blobs per pack at most (its key seals one more message, the header). */
  readonly maxEntries: number;
  /** The main thread's ring: blobs to store, pack bytes to open, room for plaintexts. */
  readonly ring: SharedArrayBuffer;
  /** This worker's pack segments: `segmentCount` slots of `segmentBytes`. */
  readonly segments: SharedArrayBuffer;
  readonly segmentBytes: number;
  readonly segmentCount: number;
  /** Int32: [0] counts segments freed (the worker waits on it), [1 + i] is 1 while slot i is in use. */
  readonly control: SharedArrayBuffer;
}

/** Compute the ids (keyed MACs, format.md §9.4) of blobs lying in the ring: `spans` holds (offset, length) pairs. */
export interface HashRequest {
  readonly op: 'hash';
  readonly seq: number;
  readonly spans: Uint32Array;
}

/** Seal blobs lying in the ring into this worker's open pack. `spans`: (offset, length) pairs; `ids`: 32 bytes per blob. */
export interface StoreRequest {
  readonly op: 'store';
  readonly seq: number;
  /** 0 data, 1 tree (format.md §9.4). */
  readonly type: number;
  readonly spans: Uint32Array;
  readonly ids: Uint8Array;
}

/** Finish the open pack, if it holds anything. */
export interface FlushRequest {
  readonly op: 'flush';
  readonly seq: number;
}

/**
 * Open, decode and verify blob frames lying in the ring. Each blob is described by 49 bytes of
 * `blobs`: type:u8 ‖ id:32 ‖ frame_at:u32 ‖ frame_length:u32 ‖ raw_length:u32 ‖ out_at:u32,
 * big-endian, offsets into the ring; its verified plaintext is written at out_at.
 */
export interface OpenRequest {
  readonly op: 'open';
  readonly seq: number;
  readonly salt: Uint8Array;
  readonly blobs: Uint8Array;
}

export type ToPackWorker = PackWorkerInit | HashRequest | StoreRequest | FlushRequest | OpenRequest;

export const OPEN_BLOB_BYTES = 1 + 32 + 4 + 4 + 4 + 4;

export interface OpenFailure {
  /** The blob's position in the request. */
  readonly index: number;
  readonly code: string;
  readonly message: string;
}

export type FromPackWorker =
  /** The next `length` bytes of pack `pack` (numbered per worker) lie in segment slot `slot`; the main thread frees the slot once written. */
  | { readonly op: 'segment'; readonly pack: number; readonly slot: number; readonly length: number }
  /** Pack `pack` is complete (its segments were all sent): its id (hex), salt and its header's entries (45 bytes each). */
  | { readonly op: 'packed'; readonly pack: number; readonly id: string; readonly salt: Uint8Array; readonly entries: Uint8Array }
  /** The ids of a hash request's blobs, 32 bytes each, in order. */
  | { readonly op: 'hashed'; readonly seq: number; readonly ids: Uint8Array }
  /** A store request is done: the ring regions it read may be reused. */
  | { readonly op: 'stored'; readonly seq: number }
  | { readonly op: 'flushed'; readonly seq: number }
  /** An open request is done; a blob that failed is listed and its plaintext region left unwritten. */
  | { readonly op: 'opened'; readonly seq: number; readonly failures: readonly OpenFailure[] }
  | { readonly op: 'failed'; readonly seq: number; readonly code: string | undefined; readonly message: string };
