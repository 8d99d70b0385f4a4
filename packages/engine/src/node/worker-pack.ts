/**
 * The pack a worker is filling (format.md §9.5):
 *
 *   pack = "CFPK" ‖ version:u8 (2) ‖ salt:32 ‖ blob_frame × n ‖ padding_frame? ‖ header_frame ‖ header_len:u32
 *
 * Its bytes are written into segment slots of shared memory, and each full slot is announced to
 * the main thread, which writes it to storage and frees the slot. The pack's id — the SHA-256 of
 * its preamble, header frame and header length (format.md §9.5) — is computed here at the end.
 * When every slot is taken the worker waits (Atomics.wait) for the main thread to free one: the
 * writes, not a buffer that grows, set the pace.
 */
import { type KeyObject, createHash, randomFillSync } from 'node:crypto';
import { objectKey, sealFrame } from './worker-frames.ts';
import { ENTRY_BYTES, packHeader, packPadding, paddingPlaintext } from '../repo/pack-layout.ts';

/** "CFPK" ‖ version 2 (format.md §9.5). */
const PACK_HEAD = Uint8Array.of(0x43, 0x46, 0x50, 0x4b, 2);
const SALT_BYTES = 32;

/** Where a pack's bytes are written before they go out: numbered slots of equal size. */
export interface Slots {
  /** A free slot, now in use; may wait for one. */
  take(): number;
  view(slot: number): Uint8Array;
}

/** A worker's slots in shared memory, freed by the main thread once written. */
export class SegmentSlots implements Slots {
  readonly #memory: SharedArrayBuffer;
  readonly #slotBytes: number;
  readonly #count: number;
  /** [0] counts frees; [1 + i] is 1 while slot i is in use. */
  readonly #control: Int32Array;

  constructor(memory: SharedArrayBuffer, slotBytes: number, count: number, control: SharedArrayBuffer) {
    this.#memory = memory;
    this.#slotBytes = slotBytes;
    this.#count = count;
    this.#control = new Int32Array(control);
  }

  get slotBytes(): number {
    return this.#slotBytes;
  }

  /** A free slot, marked in use; waits for the main thread to free one if none is. */
  take(): number {
    for (;;) {
      const frees = Atomics.load(this.#control, 0);
      for (let i = 0; i < this.#count; i++) if (Atomics.compareExchange(this.#control, 1 + i, 0, 1) === 0) return i;
      Atomics.wait(this.#control, 0, frees);
    }
  }

  view(slot: number): Uint8Array {
    return new Uint8Array(this.#memory, slot * this.#slotBytes, this.#slotBytes);
  }
}

export interface PackSink {
  segment(pack: number, slot: number, length: number): void;
  /** Pack `pack` is complete: its id (hex), salt and header entries. */
  packed(pack: number, id: string, salt: Uint8Array, entries: Uint8Array): void;
}

export class OpenPack {
  readonly number: number;
  readonly salt = randomFillSync(new Uint8Array(SALT_BYTES));
  readonly key: KeyObject;
  readonly #preamble: Uint8Array;
  readonly #slots: Slots;
  readonly #sink: PackSink;
  #entries = new Uint8Array(ENTRY_BYTES * 256);
  #entriesView = new DataView(this.#entries.buffer);
  #slot: number;
  #segment: Uint8Array;
  #used = 0;
  count = 0;
  size = 0;

  constructor(number: number, subkey: Uint8Array, label: string, slots: Slots, sink: PackSink) {
    this.number = number;
    this.key = objectKey(subkey, this.salt, label);
    this.#slots = slots;
    this.#sink = sink;
    this.#slot = slots.take();
    this.#segment = slots.view(this.#slot);
    this.#preamble = new Uint8Array(PACK_HEAD.length + SALT_BYTES);
    this.#preamble.set(PACK_HEAD);
    this.#preamble.set(this.salt, PACK_HEAD.length);
    this.append(this.#preamble);
  }

  /** Appends pack bytes. */
  readonly append = (bytes: Uint8Array): void => {
    for (let done = 0; done < bytes.length; ) {
      const n = Math.min(bytes.length - done, this.#segment.length - this.#used);
      this.#segment.set(bytes.subarray(done, done + n), this.#used);
      this.#used += n;
      done += n;
      if (this.#used === this.#segment.length) this.#flush(true);
    }
    this.size += bytes.length;
  };

  /** Appends one blob's frame and records its entry. */
  addBlob(type: number, ids: Uint8Array, at: number, prefix: Uint8Array | undefined, body: Uint8Array, aad: Uint8Array, rawLength: number): void {
    const offset = this.size;
    const length = sealFrame(this.key, prefix, body, aad, this.append);
    if ((this.count + 1) * ENTRY_BYTES > this.#entries.length) {
      const bigger = new Uint8Array(this.#entries.length * 2);
      bigger.set(this.#entries);
      this.#entries = bigger;
      this.#entriesView = new DataView(bigger.buffer);
    }
    const base = this.count * ENTRY_BYTES;
    this.#entries[base] = type;
    this.#entries.set(ids.subarray(at, at + 32), base + 1);
    this.#entriesView.setUint32(base + 33, offset);
    this.#entriesView.setUint32(base + 37, length);
    this.#entriesView.setUint32(base + 41, rawLength);
    this.count++;
  }

  /**
   * Seals the padding that makes the pack a multiple of 64 KiB (pack-layout.ts), then the header
   * (count ‖ padding ‖ entries) and its length; announces the pack with its id.
   */
  finish(labels: { readonly header: Uint8Array; readonly padding: Uint8Array }): void {
    const padding = packPadding(this.size, this.count);
    if (padding > 0) sealFrame(this.key, undefined, paddingPlaintext(padding), this.#aad(labels.padding), this.append);
    const entries = this.#entries.subarray(0, this.count * ENTRY_BYTES);
    const header = packHeader(padding, entries);
    const aad = this.#aad(labels.header);
    const id = createHash('sha256').update(this.#preamble);
    const frameLength = sealFrame(this.key, undefined, header, aad, (bytes) => {
      id.update(bytes);
      this.append(bytes);
    });
    const tail = new Uint8Array(4);
    new DataView(tail.buffer).setUint32(0, frameLength);
    id.update(tail);
    this.append(tail);
    this.#flush(false);
    this.#sink.packed(this.number, id.digest('hex'), this.salt, entries.slice());
  }

  /** label ‖ the pack's first 37 bytes: the associated data of its header and padding frames. */
  #aad(label: Uint8Array): Uint8Array {
    const aad = new Uint8Array(label.length + this.#preamble.length);
    aad.set(label);
    aad.set(this.#preamble, label.length);
    return aad;
  }

  /** Hands the filled part of the current slot to the main thread; takes a fresh slot if more will follow. */
  #flush(more: boolean): void {
    if (this.#used > 0) {
      this.#sink.segment(this.number, this.#slot, this.#used);
    } else {
      this.#sink.segment(this.number, this.#slot, 0);
    }
    this.#used = 0;
    if (!more) return;
    this.#slot = this.#slots.take();
    this.#segment = this.#slots.view(this.#slot);
  }
}
