/** Byte helpers shared by the formats: plain Uint8Array, so that they run the same in browsers and in Node. */
import { fail } from './errors.ts';

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  return joinBytes(parts);
}

/**
 * concatBytes for an array of parts: a pack of small blobs (SQLite pages, WAL frame headers) has
 * tens of thousands of frames, more than a call's argument list holds.
 */
export function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Compares two byte strings in time that depends only on their lengths, so a
 * MAC or commitment check does not leak how many leading bytes matched.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Overwrites secret bytes once they are no longer needed (best effort in JS). */
export function wipe(...buffers: Uint8Array[]): void {
  for (const buffer of buffers) buffer.fill(0);
}

const textEncoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}

export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return strictDecoder.decode(bytes);
  } catch (cause) {
    return fail('E_FORMAT', `${what} is not valid UTF-8`, cause);
  }
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) fail('E_FORMAT', 'not a hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Copies into a fresh ArrayBuffer-backed array, which is what WebCrypto's typings ask for. */
export function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/** Entry points take objects from callers that may not be typed (JavaScript, JSON); check before reading fields. */
export function assertObject(value: unknown, what: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) fail('E_INVALID_ARGUMENT', `${what} must be an object`);
}

export function assertBytes(value: unknown, what: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) fail('E_INVALID_ARGUMENT', `${what} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) {
    fail('E_INVALID_ARGUMENT', `${what} must be ${String(length)} bytes, got ${String(value.length)}`);
  }
}

/**
 * Reads big-endian fields from untrusted bytes. Every read checks the remaining
 * length first, so a declared length is validated before anything is allocated.
 */
export class ByteReader {
  private offset = 0;
  private readonly bytes: Uint8Array;
  private readonly what: string;
  private readonly view: DataView;

  constructor(bytes: Uint8Array, what: string) {
    this.bytes = bytes;
    this.what = what;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(count: number, field: string): void {
    if (count > this.remaining) {
      fail('E_TRUNCATED', `${this.what}: ${field} needs ${String(count)} bytes, ${String(this.remaining)} left`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.offset++);
  }

  u16(field: string): number {
    this.need(2, field);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(field: string): number {
    this.need(4, field);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  /** A u64 that must fit in a JS safe integer (timestamps in milliseconds do). */
  u64(field: string): number {
    this.need(8, field);
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail('E_FORMAT', `${this.what}: ${field} exceeds 2^53-1`);
    return Number(value);
  }

  /** Returns a copy, so parsed structures never alias the caller's buffer. */
  bytesOf(count: number, field: string): Uint8Array {
    this.need(count, field);
    const out = this.bytes.slice(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }

  /** A length-prefixed field; the prefix is checked against `max` and the remaining input before copying. */
  lengthPrefixed(prefixBytes: 1 | 2 | 4, max: number, field: string, min = 0): Uint8Array {
    const length = prefixBytes === 1 ? this.u8(field) : prefixBytes === 2 ? this.u16(field) : this.u32(field);
    if (length > max) fail('E_TOO_LARGE', `${this.what}: ${field} declares ${String(length)} bytes, limit ${String(max)}`);
    if (length < min) fail('E_FORMAT', `${this.what}: ${field} must be at least ${String(min)} bytes`);
    return this.bytesOf(length, field);
  }

  rest(): Uint8Array {
    return this.bytesOf(this.remaining, 'rest');
  }

  expectEnd(): void {
    if (this.remaining !== 0) fail('E_FORMAT', `${this.what}: ${String(this.remaining)} unexpected trailing bytes`);
  }
}

/** Writes big-endian fields; the encoder side of ByteReader. */
export class ByteWriter {
  private readonly parts: Uint8Array[] = [];

  u8(value: number): this {
    return this.push(1, (view) => { view.setUint8(0, value); });
  }

  u16(value: number): this {
    return this.push(2, (view) => { view.setUint16(0, value); });
  }

  u32(value: number): this {
    return this.push(4, (view) => { view.setUint32(0, value); });
  }

  u64(value: number): this {
    return this.push(8, (view) => { view.setBigUint64(0, BigInt(value)); });
  }

  bytes(value: Uint8Array): this {
    this.parts.push(value.slice());
    return this;
  }

  lengthPrefixed(prefixBytes: 1 | 2 | 4, value: Uint8Array): this {
    if (prefixBytes === 1) this.u8(value.length);
    else if (prefixBytes === 2) this.u16(value.length);
    else this.u32(value.length);
    return this.bytes(value);
  }

  finish(): Uint8Array {
    return concatBytes(...this.parts);
  }

  private push(size: number, write: (view: DataView) => void): this {
    const part = new Uint8Array(size);
    write(new DataView(part.buffer));
    this.parts.push(part);
    return this;
  }
}
