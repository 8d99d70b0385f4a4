/**
 * Packs: immutable objects that group sealed blobs (format.md §9.5).
 *
 *   pack   = "CFPK" ‖ version:u8 (= 2) ‖ salt:32 ‖ blob_frame × n ‖ padding_frame? ‖ header_frame ‖ header_len:u32
 *   key    = HKDF(blob-encryption subkey, salt, "coffer/v1/pack")
 *   blob_frame    = seal(key, payload, aad = "coffer/v1/blob" ‖ type:u8 ‖ blob_id:32)
 *   padding_frame = seal(key, zeros, aad = "coffer/v1/pack-padding" ‖ first 37 bytes of the pack)
 *   header_frame  = seal(key, header, aad = "coffer/v1/pack-header" ‖ first 37 bytes of the pack)
 *   header = count:u32 ‖ padding:u32 ‖ { type:u8 ‖ blob_id:32 ‖ offset:u32 ‖ length:u32 ‖ raw_length:u32 } × count
 *
 * The padding frame makes the pack's length a multiple of 64 KiB (pack-layout.ts); `padding` is
 * its length, 0 when there is none. Version 1 had neither: header = count ‖ entries.
 *
 * The header sits at the end so a pack streams out in one pass; the index
 * repeats it, and the header exists so `check` and index recovery can work from
 * packs alone.
 *
 * The pack's id (its storage name) is the SHA-256 of its preamble, header frame and header length
 * (version 2), not of all its bytes (version 1): hashing every byte again cost a first backup a
 * second of CPU for nothing that the key holder needs — every blob frame is authenticated by
 * AES-GCM under the pack key, the header lists the frames contiguously up to itself, and the
 * header frame is in the hash, so `check --read-data` still covers each byte (format.md §9.5).
 */
import { BLOB_FRAME_OVERHEAD, ByteReader, ByteWriter, CofferError, LABELS, concatBytes, fail, joinBytes, randomBytes, toHex } from '@coffer/core';
import { BLOB_TYPE_CODES, type BlobType, blobTypeFromCode } from './blob.ts';
import { OBJECT_SALT_BYTES, objectKey } from './object-key.ts';
import { type BulkCrypto, type Sealer, webBulkCrypto } from './bulk-crypto.ts';
import { ENTRY_BYTES, packHeader, packPadding, paddingPlaintext } from './pack-layout.ts';
import { encodeEntries } from './entries.ts';

export const PACK_MAGIC = 'CFPK';
/** What writers write; readers also take version 1, whose id is the SHA-256 of the whole pack. */
export const PACK_VERSION = 2;
const PACK_VERSIONS: readonly number[] = [1, 2];
export const PACK_PREAMBLE_BYTES = 4 + 1 + OBJECT_SALT_BYTES;
export { ENTRY_BYTES };
/** Packs stay well below 4 GiB so u32 offsets suffice; writers aim for about 16 MiB. */
export const MAX_PACK_BYTES = 1 << 30;
export const MAX_PACK_ENTRIES = 1 << 20;

export interface PackEntry {
  readonly type: BlobType;
  readonly id: Uint8Array;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}

/** Encoded once: blobAad runs for every blob sealed or opened, 47,000 times for a 190 MB database of 4 KiB pages. */
const BLOB_AAD_PREFIX = new TextEncoder().encode(LABELS.blobAad);

export function blobAad(type: BlobType, id: Uint8Array): Uint8Array {
  return concatBytes(BLOB_AAD_PREFIX, Uint8Array.of(BLOB_TYPE_CODES[type]), id);
}

function headerAad(preamble: Uint8Array): Uint8Array {
  return concatBytes(new TextEncoder().encode(LABELS.packHeaderAad), preamble);
}

export function paddingAad(preamble: Uint8Array): Uint8Array {
  return concatBytes(new TextEncoder().encode(LABELS.packPaddingAad), preamble);
}

export async function packKey(blobEncryptionKey: Uint8Array, salt: Uint8Array, bulk: BulkCrypto = webBulkCrypto): Promise<Sealer> {
  return objectKey(blobEncryptionKey, salt, LABELS.packKey, bulk);
}

/**
 * Accumulates sealed blobs in memory (bounded by the target pack size) and
 * produces the pack bytes. `add` reserves a blob's place synchronously — a
 * frame's length is known before sealing — so callers can fill one pack from
 * many concurrent tasks while the sealing itself runs in parallel.
 */
export class PackBuilder {
  private readonly parts: Promise<Uint8Array>[] = [];
  private readonly entries: PackEntry[] = [];
  private bytes: number;
  readonly preamble: Uint8Array;
  private readonly key: Promise<Sealer>;

  private readonly bulk: BulkCrypto;

  constructor(blobEncryptionKey: Uint8Array, bulk: BulkCrypto = webBulkCrypto) {
    this.bulk = bulk;
    this.preamble = concatBytes(new TextEncoder().encode(PACK_MAGIC), Uint8Array.of(PACK_VERSION), randomBytes(OBJECT_SALT_BYTES));
    this.key = packKey(blobEncryptionKey, this.preamble.subarray(5), bulk);
    this.parts.push(Promise.resolve(this.preamble));
    this.bytes = this.preamble.length;
  }

  get salt(): Uint8Array {
    return this.preamble.subarray(5);
  }

  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.entries.length;
  }

  /** Reserves the next place for `payload` (an encoded blob) and starts sealing it; returns its entry. */
  add(type: BlobType, id: Uint8Array, payload: Uint8Array, rawLength: number): PackEntry {
    const entry: PackEntry = { type, id, offset: this.bytes, length: payload.length + BLOB_FRAME_OVERHEAD, rawLength };
    const sealed = this.key.then((key) => key.seal(payload, blobAad(type, id)));
    // Finish awaits every frame; this handler only keeps an early failure from being reported as unhandled.
    sealed.catch(() => undefined);
    this.parts.push(sealed);
    this.entries.push(entry);
    this.bytes += entry.length;
    return entry;
  }

  /** Waits for every frame, seals the header and returns the finished pack with its id (hex) and entries. */
  async finish(): Promise<{ id: string; bytes: Uint8Array; entries: readonly PackEntry[] }> {
    const frames = await Promise.all(this.parts);
    const key = await this.key;
    const padding = packPadding(this.bytes, this.entries.length);
    if (padding > 0) frames.push(await key.seal(paddingPlaintext(padding), paddingAad(this.preamble)));
    const headerFrame = await key.seal(encodePackHeader(this.entries, padding), headerAad(this.preamble));
    const length = new ByteWriter().u32(headerFrame.length).finish();
    frames.push(headerFrame, length);
    const id = toHex(await this.bulk.sha256(concatBytes(this.preamble, headerFrame, length)));
    return { id, bytes: joinBytes(frames), entries: this.entries };
  }
}

/** A version-2 header: count ‖ padding ‖ entries. */
export function encodePackHeader(entries: readonly PackEntry[], padding: number): Uint8Array {
  return packHeader(padding, encodeEntries(entries));
}

export interface PackHeader {
  readonly entries: PackEntry[];
  /** The padding frame's length (version 2), 0 without one. */
  readonly padding: number;
}

/**
 * A decrypted header of a pack whose header frame starts at `headerStart`: the entries tile the
 * bytes from the preamble up to the padding frame, and that up to the header (E_FORMAT otherwise).
 */
export function decodePackHeader(bytes: Uint8Array, headerStart: number, where: string, version: number = PACK_VERSION): PackHeader {
  const reader = new ByteReader(bytes, where);
  const count = reader.u32('entry count');
  const padding = version === 1 ? 0 : reader.u32('padding');
  if (count > MAX_PACK_ENTRIES) fail('E_TOO_LARGE', `${where}: ${String(count)} entries`);
  if (count * ENTRY_BYTES !== reader.remaining) fail('E_FORMAT', `${where}: header length does not match its entry count`);
  if (padding > 0 && padding < BLOB_FRAME_OVERHEAD) fail('E_FORMAT', `${where}: padding of ${String(padding)} bytes is shorter than a frame`);
  const packSize = headerStart - padding;
  const entries: PackEntry[] = [];
  let expectedOffset = PACK_PREAMBLE_BYTES;
  for (let i = 0; i < count; i++) {
    const entry: PackEntry = {
      type: blobTypeFromCode(reader.u8('type')),
      id: reader.bytesOf(32, 'blob id'),
      offset: reader.u32('offset'),
      length: reader.u32('length'),
      rawLength: reader.u32('raw length'),
    };
    // Blobs are contiguous and in order; anything else is a forged or damaged header.
    if (entry.offset !== expectedOffset || entry.offset + entry.length > packSize) fail('E_FORMAT', `${where}: blob ${String(i)} lies outside the pack`);
    expectedOffset += entry.length;
    entries.push(entry);
  }
  reader.expectEnd();
  if (expectedOffset + padding !== headerStart) fail('E_FORMAT', `${where}: bytes between the last blob and the header`);
  return { entries, padding };
}

/**
 * Where a whole pack's header frame begins, after checking its preamble and trailer: the parts
 * every reader of whole packs (id, header) relies on.
 */
function packLayout(pack: Uint8Array, name: string): { version: number; headerStart: number } {
  if (pack.length < PACK_PREAMBLE_BYTES + 4) fail('E_TRUNCATED', `pack ${name} is truncated`);
  if (new TextDecoder().decode(pack.subarray(0, 4)) !== PACK_MAGIC) fail('E_FORMAT', `${name} is not a pack (bad magic)`);
  const version = pack[4] ?? 0;
  if (!PACK_VERSIONS.includes(version)) fail('E_UNSUPPORTED_VERSION', `pack ${name} has version ${String(version)}`);
  const view = new DataView(pack.buffer, pack.byteOffset, pack.byteLength);
  const headerLength = view.getUint32(pack.length - 4);
  const headerStart = pack.length - 4 - headerLength;
  if (headerStart < PACK_PREAMBLE_BYTES) fail('E_FORMAT', `pack ${name}: header length ${String(headerLength)} is impossible`);
  return { version, headerStart };
}

/**
 * A whole pack's id, hex (format.md §9.5): SHA-256 of preamble ‖ header frame ‖ header length
 * (version 2), or of every byte (version 1). It vouches for the blob frames only together with
 * their authentication under the pack key, which `check --read-data` does for each.
 */
export async function packId(pack: Uint8Array, name: string, bulk: BulkCrypto = webBulkCrypto): Promise<string> {
  const { version, headerStart } = packLayout(pack, name);
  const hashed = version === 1 ? pack : concatBytes(pack.subarray(0, PACK_PREAMBLE_BYTES), pack.subarray(headerStart));
  return toHex(await bulk.sha256(hashed));
}

/**
 * Reads and authenticates a whole pack's header (for check and index recovery), and its padding
 * frame: sealed zeros, so that no byte of the pack goes unchecked.
 */
export async function readPackHeader(blobEncryptionKey: Uint8Array, pack: Uint8Array, name: string, bulk: BulkCrypto = webBulkCrypto): Promise<{ salt: Uint8Array; entries: PackEntry[] }> {
  const { version, headerStart } = packLayout(pack, name);
  const preamble = pack.subarray(0, PACK_PREAMBLE_BYTES);
  const salt = pack.slice(5, PACK_PREAMBLE_BYTES);
  const key = await packKey(blobEncryptionKey, salt, bulk);
  let header: Uint8Array;
  try {
    header = await key.open(pack.subarray(headerStart, pack.length - 4), headerAad(preamble));
  } catch (error) {
    if (error instanceof CofferError) throw new CofferError(error.code, `pack ${name}: header ${error.message}`, { cause: error });
    throw error;
  }
  const { entries, padding } = decodePackHeader(header, headerStart, `pack ${name}`, version);
  if (padding > 0) {
    let zeros: Uint8Array;
    try {
      zeros = await key.open(pack.subarray(headerStart - padding, headerStart), paddingAad(preamble));
    } catch (error) {
      if (error instanceof CofferError) throw new CofferError(error.code, `pack ${name}: padding ${error.message}`, { cause: error });
      throw error;
    }
    if (zeros.some((b) => b !== 0)) fail('E_FORMAT', `pack ${name}: padding that is not zeros`);
  }
  return { salt, entries };
}

export function packName(id: string): string {
  return `data/${id.slice(0, 2)}/${id}`;
}

export function describeBlob(type: BlobType, id: Uint8Array): string {
  return `${type} blob ${toHex(id).slice(0, 16)}`;
}
