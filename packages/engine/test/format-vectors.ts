/**
 * The engine's test vectors for format.md §9.5 (pack ids) and §9.12 (SQLite boundaries, content lists), in the vector
 * file format of format.md §10. Every vector is fixed bytes chosen here, so the files never change
 * unless this list does:
 *
 *   node packages/engine/test/format-vectors.ts --write   rewrite packages/engine/test/vectors/
 *
 * format-vectors.test.ts checks that the committed files are exactly these.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

export type Vector = readonly (readonly [string, string])[];

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const u16 = (n: number): number[] => [(n >>> 8) & 255, n & 255];
const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const ascii = (text: string): number[] => [...new TextEncoder().encode(text)];

/** A database header's first 24 bytes: magic, page size field, versions 1/1, 0 reserved, fractions. */
function databaseHead(pageSizeField: number, fractions: readonly number[] = [64, 32, 32]): Uint8Array {
  return Uint8Array.from([...ascii('SQLite format 3\0'), ...u16(pageSizeField), 1, 1, 0, ...fractions]);
}

/** A log header: magic, format version, page size, checkpoint sequence, salts, checksums. */
function walHead(magic: number, pageSize: number, version = 3007000): Uint8Array {
  return Uint8Array.from([...u32(magic), ...u32(version), ...u32(pageSize), ...u32(0), ...u32(0x1a2b3c4d), ...u32(0x5e6f7081), ...u32(0xdeadbeef), ...u32(0x01234567)]);
}

function boundaries(description: string, head: Uint8Array, length: number, layout: 'database' | 'wal' | 'other', pageSize: number, chunks: readonly number[]): Vector {
  return [
    ['kind', 'sqlite-boundaries'],
    ['description', description],
    ['head', hex(head)],
    ['length', String(length)],
    ['expect', 'success'],
    ['layout', layout],
    ...(layout === 'other' ? [] : ([['page-size', String(pageSize)], ['chunks', chunks.join(',')]] as const)),
  ];
}

function id(n: number): Uint8Array {
  return createHash('sha256').update(`vector id ${String(n)}`).digest();
}

function list(bytes: number[] | Uint8Array, description: string, expect: string, level?: number, ids?: readonly Uint8Array[]): Vector {
  return [
    ['kind', 'content-list'],
    ['description', description],
    ['list', hex(Uint8Array.from(bytes))],
    ['expect', expect],
    ...(expect === 'success' ? ([['level', String(level)], ['ids', (ids ?? []).map(hex).join(',')]] as const) : []),
  ];
}

function listBytes(level: number, count: number, ids: readonly Uint8Array[], magic = 'CFCL', version = 1): number[] {
  return [...ascii(magic), version, level, ...u16(count), ...ids.flatMap((i) => [...i])];
}

function shape(chunks: number): Vector {
  const lists: number[] = [];
  for (let n = chunks; n > 32 || (lists.length > 0 && n > 1); n = Math.ceil(n / 32)) lists.push(Math.ceil(n / 32));
  return [
    ['kind', 'content-list-shape'],
    ['description', `a file of ${String(chunks)} chunk${chunks === 1 ? '' : 's'}`],
    ['chunks', String(chunks)],
    ['expect', 'success'],
    ['lists', lists.length === 0 ? 'inline' : lists.join(',')],
  ];
}

/**
 * A pack's bytes for the id rule (key-free, so the frames are stand-in bytes): preamble with
 * `version` and a fixed salt, `blobs` bytes of blob frames, a header frame of `header` bytes and
 * the header length (`declared`, when given, in place of the true one).
 */
function packBytes(version: number, blobs: number, header: number, declared?: number, magic = 'CFPK'): Uint8Array {
  const fill = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => (seed + 7 * i) & 255);
  return Uint8Array.from([...ascii(magic), version, ...Array<number>(32).fill(0x5a), ...fill(blobs, 1), ...fill(header, 2), ...u32(declared ?? header)]);
}

function packVector(description: string, pack: Uint8Array, expect: string, hashed?: Uint8Array): Vector {
  return [
    ['kind', 'pack-id'],
    ['description', description],
    ['pack', hex(pack)],
    ['expect', expect],
    ...(hashed ? ([['id', createHash('sha256').update(hashed).digest('hex')]] as const) : []),
  ];
}

/** Version 2: SHA-256 of the first 37 bytes ‖ the header frame ‖ the header length. */
function packV2(description: string, blobs: number, header: number): Vector {
  const pack = packBytes(2, blobs, header);
  return packVector(description, pack, 'success', Uint8Array.from([...pack.subarray(0, 37), ...pack.subarray(37 + blobs)]));
}

export function engineVectors(): Map<string, Vector> {
  const ids3 = [id(1), id(2), id(3)];
  return new Map<string, Vector>([
    ['sqlite-database-512.vector', boundaries('a database with 512-byte pages that ends inside its fourth page', databaseHead(512), 3 * 512 + 100, 'database', 512, [512, 512, 512, 100])],
    ['sqlite-database-65536.vector', boundaries('page size field 1 means 65536', databaseHead(1), 2 * 65536 + 1, 'database', 65536, [65536, 65536, 1])],
    ['sqlite-wal-1024.vector', boundaries('a write-ahead log of three 1024-byte frames and 10 more bytes', walHead(0x377f0682, 1024), 32 + 3 * (24 + 1024) + 10, 'wal', 1024, [56, 1024, 24, 1024, 24, 1024, 10])],
    ['sqlite-wal-65536.vector', boundaries('the other log magic, 65536-byte pages, one frame and a frame header', walHead(0x377f0683, 65536), 32 + 24 + 65536 + 24, 'wal', 65536, [56, 65536, 24])],
    ['sqlite-wal-header-only.vector', boundaries('a log with its header only', walHead(0x377f0682, 4096), 32, 'wal', 4096, [32])],
    ['sqlite-bad-page-size.vector', boundaries('page size 768 is not a power of two: not SQLite', databaseHead(768), 4096, 'other', 0, [])],
    ['sqlite-small-page-size.vector', boundaries('page size 256 is below 512: not SQLite', databaseHead(256), 4096, 'other', 0, [])],
    ['sqlite-bad-fractions.vector', boundaries('payload fractions other than 64, 32, 32: not SQLite', databaseHead(4096, [64, 32, 33]), 8192, 'other', 0, [])],
    ['sqlite-short.vector', boundaries('a file of 20 bytes that starts like a database: too short to tell, general chunker', databaseHead(4096).subarray(0, 20), 20, 'other', 0, [])],
    ['sqlite-wal-bad-version.vector', boundaries('a log magic with another format version: not SQLite', walHead(0x377f0682, 4096, 3007001), 4096, 'other', 0, [])],
    ['sqlite-wal-big-page.vector', boundaries('a log page size of 131072: not SQLite', walHead(0x377f0682, 131072), 4096, 'other', 0, [])],
    ['sqlite-not-sqlite.vector', boundaries('a zip file', Uint8Array.from([...ascii('PK'), 3, 4, ...Array<number>(20).fill(0)]), 4096, 'other', 0, [])],
    ['pack-id-v2.vector', packV2('version 2: two blob frames (90 bytes) and a 77-byte header frame; the blob frames are not hashed', 90, 77)],
    ['pack-id-v2-no-blobs.vector', packV2('version 2 with no blob frame: the header frame right after the preamble', 0, 33)],
    ['pack-id-v1.vector', packVector('version 1: the SHA-256 of every byte', packBytes(1, 90, 77), 'success', packBytes(1, 90, 77))],
    ['pack-id-version-3.vector', packVector('version 3', packBytes(3, 90, 77), 'E_UNSUPPORTED_VERSION')],
    ['pack-id-bad-magic.vector', packVector('another magic', packBytes(2, 90, 77, undefined, 'CFPX'), 'E_FORMAT')],
    ['pack-id-truncated.vector', packVector('40 bytes: shorter than a preamble and a header length', packBytes(2, 0, 3).subarray(0, 40), 'E_TRUNCATED')],
    ['pack-id-header-too-long.vector', packVector('a header length that reaches into the preamble', packBytes(2, 10, 20, 31), 'E_FORMAT')],
    ['content-list-level0.vector', list(listBytes(0, 3, ids3), 'a level-0 list of three data blob ids', 'success', 0, ids3)],
    ['content-list-level7.vector', list(listBytes(7, 1, [id(4)]), 'the highest level, one id', 'success', 7, [id(4)])],
    ['content-list-bad-magic.vector', list(listBytes(0, 1, [id(5)], 'CFLS'), 'another magic', 'E_FORMAT')],
    ['content-list-version-2.vector', list(listBytes(0, 1, [id(5)], 'CFCL', 2), 'version 2', 'E_UNSUPPORTED_VERSION')],
    ['content-list-level-8.vector', list(listBytes(8, 1, [id(5)]), 'level 8', 'E_FORMAT')],
    ['content-list-empty.vector', list(listBytes(0, 0, []), 'a count of 0', 'E_FORMAT')],
    ['content-list-truncated.vector', list(listBytes(0, 3, [id(5), id(6)]), 'three ids declared, two present', 'E_TRUNCATED')],
    ['content-list-trailing.vector', list(listBytes(0, 1, [id(5), id(6)]), 'one id declared, two present', 'E_FORMAT')],
    ['content-list-short-header.vector', list(listBytes(0, 1, []).slice(0, 6), 'the header cut after 6 bytes', 'E_TRUNCATED')],
    ...[0, 1, 32, 33, 1024, 1025, 32 * 32 * 32 + 1, 47_064].map((n): [string, Vector] => [`content-list-shape-${String(n)}.vector`, shape(n)]),
  ]);
}

export function serialize(vector: Vector): string {
  return `${vector.map(([key, value]) => `${key}: ${value}`).join('\n')}\n`;
}

export const VECTOR_DIR = join(import.meta.dirname, 'vectors');

if (import.meta.main && process.argv.includes('--write')) {
  mkdirSync(VECTOR_DIR, { recursive: true });
  for (const [name, vector] of engineVectors()) writeFileSync(join(VECTOR_DIR, name), serialize(vector));
  process.stdout.write(`wrote ${String(engineVectors().size)} vectors to ${VECTOR_DIR}\n`);
}
