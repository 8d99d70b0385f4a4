/**
 * One file's chunks on their way to the repository. Each piece's chunks are MACed (the ids are
 * keyed MACs, format.md §9.4) — by the pack workers when there are several, else on the main
 * thread, which is then the other core — and claimed from the repository on the main thread, so
 * deduplication is decided in one place; those it lacks go to a worker to be compressed and
 * sealed. (With two workers on two cores, MACing on the main thread left both workers partly
 * idle.)
 *
 * With one worker, the main thread MACs every chunk, even while the worker idles. Handing a
 * piece to an idle worker to MAC (the rule before) looked free but was not: the piece's claims,
 * and so its new chunks' sealing, waited for the round trip, and its ring region stayed taken
 * meanwhile, so reading ahead stalled. Measured on two cores, next-day backups of the benchmark
 * (8 alternating runs each, twice): the file phase took 774–828 ms instead of 804–940 ms, the
 * main thread idle ≈ 0.1 s instead of ≈ 0.35 s; a first backup was unchanged (5.7–5.9 s).
 *
 * Every chunk must lie in the shared ring for a worker to read it: chunks inside a piece are
 * views of its ring region already; a chunk that spanned pieces (the chunker's own buffer) is
 * copied into a region of its own. A piece's region is given back once nothing needs it.
 */
import type { IdMac } from './id-mac.ts';
import type { Repository } from '../repo/repository.ts';
import type { PackPipeline } from './pack-pipeline.ts';
import type { SharedRing } from './shared-ring.ts';
import { joinBytes } from '@coffer/core';

const ID_BYTES = 32;
/** New chunks are copied out of their piece when they are at most this share of it (1 in …). */
const COPY_OUT_SHARE = 4;

export class FileChunks {
  readonly #ring: SharedRing;
  readonly #pipeline: PackPipeline;
  readonly #repository: Repository;
  /** Per piece, in order: the ids of its chunks once hashed and claimed. */
  readonly #batches: Promise<Uint8Array>[] = [];

  /** Given, ids are MACed here on the main thread instead of by the workers. */
  readonly #idMac: IdMac | undefined;

  constructor(ring: SharedRing, pipeline: PackPipeline, repository: Repository, idMac?: IdMac) {
    this.#ring = ring;
    this.#pipeline = pipeline;
    this.#repository = repository;
    this.#idMac = idMac;
  }

  /** Takes the chunks of one piece; `release` gives the piece's region back, once nothing needs it. */
  async add(chunks: readonly Uint8Array[], release: () => void): Promise<void> {
    if (chunks.length === 0) {
      release();
      return;
    }
    const spans = new Uint32Array(2 * chunks.length);
    const own: number[] = [];
    let freed = false;
    const free = (): void => {
      if (freed) return;
      freed = true;
      release();
      for (const offset of own) this.#ring.free(offset);
    };
    try {
      for (const [i, chunk] of chunks.entries()) {
        let at = chunk.byteOffset;
        if (chunk.buffer !== this.#ring.buffer) {
          at = await this.#ring.alloc(chunk.length);
          own.push(at);
          this.#ring.view(at, chunk.length).set(chunk);
        }
        spans[2 * i] = at;
        spans[2 * i + 1] = chunk.length;
      }
    } catch (error) {
      free();
      throw error;
    }
    const hashed = this.#idMac ? Promise.resolve(this.#idMac.ofSpans(this.#ring.bytes, spans)) : this.#pipeline.hash(spans);
    const batch = hashed.then(
      (ids) => {
        this.#storeNew(spans, ids, free);
        return ids;
      },
      (error: unknown) => {
        free();
        throw error;
      },
    );
    // Awaited in ids(); a failure before then must not count as unhandled.
    batch.catch(() => undefined);
    this.#batches.push(batch);
  }

  /** The ids of every chunk, in order (32 bytes each); throws the first failure. */
  async ids(): Promise<Uint8Array> {
    return joinBytes(await Promise.all(this.#batches));
  }

  /**
   * When a piece's new chunks are a small part of it (a next day's database: about one page in
   * five), copies them into a region of their own and frees the piece at once; returns what
   * frees the chunks' memory once they are sealed, and rewrites `stored` to their new places.
   * Otherwise the piece stays taken until the worker has sealed them, and with only the
   * read-ahead budget's two pieces in flight the main thread and the worker waited for each
   * other. Measured on two cores: next day ≈−0.08 s, as with twice the read-ahead but without
   * its memory. A first backup (everything new) is not copied; when the ring has no room at
   * once, neither.
   */
  #copyOut(spans: Uint32Array, stored: Uint32Array, free: () => void): () => void {
    let all = 0;
    for (let i = 1; i < spans.length; i += 2) all += spans[i] ?? 0;
    let fresh = 0;
    for (let i = 1; i < stored.length; i += 2) fresh += stored[i] ?? 0;
    if (fresh * COPY_OUT_SHARE > all) return free;
    const at = this.#ring.tryAlloc(fresh);
    if (at < 0) return free;
    const bytes = this.#ring.bytes;
    for (let i = 0, to = at; i < stored.length; i += 2) {
      const from = stored[i] ?? 0;
      const length = stored[i + 1] ?? 0;
      bytes.copyWithin(to, from, from + length);
      stored[i] = to;
      to += length;
    }
    free();
    return () => {
      this.#ring.free(at);
    };
  }

  /** Claims each chunk; those the repository lacks go to be sealed, and the regions are freed after. */
  #storeNew(spans: Uint32Array, ids: Uint8Array, free: () => void): void {
    const newSpans: number[] = [];
    const newIds: Uint8Array[] = [];
    for (let i = 0; 2 * i < spans.length; i++) {
      const id = ids.subarray(ID_BYTES * i, ID_BYTES * (i + 1));
      if (!this.#repository.claimBlob('data', id, spans[2 * i + 1] ?? 0)) continue;
      newSpans.push(spans[2 * i] ?? 0, spans[2 * i + 1] ?? 0);
      newIds.push(id);
    }
    if (newIds.length === 0) {
      free();
      return;
    }
    const joined = new Uint8Array(ID_BYTES * newIds.length);
    for (const [i, id] of newIds.entries()) joined.set(id, ID_BYTES * i);
    const stored = Uint32Array.from(newSpans);
    const release = this.#copyOut(spans, stored, free);
    try {
      this.#pipeline.store('data', stored, joined, release);
    } catch (error) {
      release();
      throw error;
    }
  }
}
