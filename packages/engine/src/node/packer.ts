/**
 * Compressing and sealing blobs into packs (worker-pack.ts), the store half of a pack worker
 * (pack-worker.ts). Blobs are read from the shared ring, pack bytes go out through `sink`.
 * Only node: modules are imported, as a worker needs.
 */
import { BlobAad } from './worker-frames.ts';
import { madeGarbage } from './worker-gc.ts';
import { OpenPack, type PackSink, type Slots } from './worker-pack.ts';
import { ZstdEncoder } from './zstd-encoder.ts';

export interface PackerSettings {
  /** The blob-encryption subkey; pack keys derive from it (format.md §9.2). */
  readonly subkey: Uint8Array;
  readonly labels: { readonly pack: string; readonly blobAad: string; readonly headerAad: string; readonly paddingAad: string };
  /** The zstd level, or null: store every blob as it is. */
  readonly level: number | null;
  readonly packBytes: number;
  readonly maxEntries: number;
}

/** Large blobs are compressed only if their first 64 KiB shrink: media never does. */
const PROBE_BYTES = 64 * 1024;
/** Each cipher and its outputs are garbage too, with native memory V8 does not see: counted generously. */
const BLOB_GARBAGE_BYTES = 2048;
const STORED = Uint8Array.of(0);
const ZSTD = Uint8Array.of(1);

function pays(original: number, compressed: number): boolean {
  return compressed < original - (original >> 4);
}

export class Packer {
  readonly #settings: PackerSettings;
  readonly #ring: Uint8Array;
  readonly #slots: Slots;
  readonly #sink: PackSink;
  readonly #blobAad: BlobAad;
  readonly #frameLabels: { readonly header: Uint8Array; readonly padding: Uint8Array };
  /** Small blobs (pages, probes) get a context with tables sized for 64 KiB. */
  readonly #small: ZstdEncoder | undefined;
  readonly #large: ZstdEncoder | undefined;
  #pack: OpenPack | undefined;
  #packs = 0;

  constructor(settings: PackerSettings, ring: Uint8Array, slots: Slots, sink: PackSink) {
    this.#settings = settings;
    this.#ring = ring;
    this.#slots = slots;
    this.#sink = sink;
    this.#blobAad = new BlobAad(settings.labels.blobAad);
    this.#frameLabels = { header: new TextEncoder().encode(settings.labels.headerAad), padding: new TextEncoder().encode(settings.labels.paddingAad) };
    // On one page, levels 2 and 3 find the same matches (measured: ratio 0.639 both on SQLite
    // pages) and level 2 costs a fifth less; larger blobs get the level asked for.
    this.#small = settings.level === null ? undefined : new ZstdEncoder(Math.min(settings.level, 2), 16);
    this.#large = settings.level === null ? undefined : new ZstdEncoder(settings.level);
  }

  /** Seals the blobs at `spans` ((offset, length) pairs into the ring), ids 32 bytes each in `ids`. */
  store(type: number, spans: Uint32Array, ids: Uint8Array): void {
    for (let i = 0; 2 * i < spans.length; i++) {
      const at = spans[2 * i] ?? 0;
      const data = this.#ring.subarray(at, at + (spans[2 * i + 1] ?? 0));
      this.#pack ??= new OpenPack(this.#packs++, this.#settings.subkey, this.#settings.labels.pack, this.#slots, this.#sink);
      const compressed = this.#compress(data);
      this.#pack.addBlob(type, ids, 32 * i, compressed ? ZSTD : STORED, compressed ?? data, this.#blobAad.for(type, ids, 32 * i), data.length);
      // Sealing makes about as much garbage (cipher outputs) as it seals.
      madeGarbage(data.length + BLOB_GARBAGE_BYTES);
      if (this.#pack.size >= this.#settings.packBytes || this.#pack.count >= this.#settings.maxEntries) this.flush();
    }
  }

  /** Finishes the open pack, if any. */
  flush(): void {
    this.#pack?.finish(this.#frameLabels);
    this.#pack = undefined;
  }

  /** zstd when it shrinks the blob by at least 1/16, else undefined (stored as it is). A view: use it before the next call. */
  #compress(data: Uint8Array): Uint8Array | undefined {
    if (!this.#small || !this.#large) return undefined;
    if (data.length > 2 * PROBE_BYTES && !pays(PROBE_BYTES, this.#small.encode(data.subarray(0, PROBE_BYTES)).length)) return undefined;
    const out = data.length <= PROBE_BYTES ? this.#small.encode(data) : this.#large.encode(data);
    return pays(data.length, out.length) ? out : undefined;
  }
}
