/**
 * format.md §9.5 (pack ids), §9.12 and their vectors agree. Each vector is checked twice: against a plain reading
 * of the section written here (no library code), and against the library — the chunker that
 * backups use, the list decoder and the list writer. The committed files must be exactly what
 * format-vectors.ts writes, so a changed vector is a visible change.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CofferError } from '@coffer/core';
import { Chunker, GearBoundaries, deriveChunkerParams } from '../src/chunker/chunker.ts';
import { SqliteAwareBoundaries, detectSqlite } from '../src/chunker/sqlite.ts';
import type { BlobType } from '../src/repo/blob.ts';
import { decodeContentList, saveContent } from '../src/repo/content-list.ts';
import { webBulkCrypto } from '../src/repo/bulk-crypto.ts';
import { packId } from '../src/repo/pack.ts';
import { VECTOR_DIR, engineVectors, serialize } from './format-vectors.ts';

type Fields = ReadonlyMap<string, string>;

function parse(text: string, name: string): Fields {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(': ');
    if (colon <= 0) throw new Error(`${name}: expected "name: value" in "${line}"`);
    fields.set(line.slice(0, colon), line.slice(colon + 2));
  }
  return fields;
}

function field(fields: Fields, key: string): string {
  const value = fields.get(key);
  if (value === undefined) throw new Error(`no field ${key}`);
  return value;
}

const files = readdirSync(VECTOR_DIR)
  .filter((f) => f.endsWith('.vector'))
  .sort()
  .map((name) => ({ name, fields: parse(readFileSync(join(VECTOR_DIR, name), 'utf8'), name) }));
const kind = (k: string): { name: string; fields: Fields }[] => files.filter((f) => f.fields.get('kind') === k);

/** §9.12 "Recognition" and "Boundaries", read plainly. */
function specBoundaries(head: Buffer, length: number): { layout: string; pageSize: number; chunks: number[] } {
  const other = { layout: 'other', pageSize: 0, chunks: [] };
  const pageSizeOk = (p: number): boolean => p >= 512 && p <= 65536 && Number.isInteger(Math.log2(p));
  if (head.length >= 24 && head.subarray(0, 16).toString('latin1') === 'SQLite format 3\0') {
    const raw = head.readUInt16BE(16);
    const p = raw === 1 ? 65536 : raw;
    if (!pageSizeOk(p) || head[21] !== 64 || head[22] !== 32 || head[23] !== 32) return other;
    const chunks: number[] = [];
    for (let at = 0; at < length; at += p) chunks.push(Math.min(p, length - at));
    return { layout: 'database', pageSize: p, chunks };
  }
  if (head.length >= 12 && [0x377f0682, 0x377f0683].includes(head.readUInt32BE(0)) && head.readUInt32BE(4) === 3007000 && pageSizeOk(head.readUInt32BE(8))) {
    const p = head.readUInt32BE(8);
    const cuts = [56];
    for (let page = true; (cuts.at(-1) ?? 0) < length; page = !page) cuts.push((cuts.at(-1) ?? 0) + (page ? p : 24));
    const ends = cuts.map((c) => Math.min(c, length)).filter((c, i, all) => i === 0 || c > (all[i - 1] ?? 0));
    return { layout: 'wal', pageSize: p, chunks: ends.map((end, i) => end - (i === 0 ? 0 : (ends[i - 1] ?? 0))) };
  }
  return other;
}

/** §9.12 list layout, read plainly; returns the error code a reader must give, or the list. */
function specList(bytes: Buffer): { code: string } | { level: number; ids: string[] } {
  if (bytes.length < 8) return { code: 'E_TRUNCATED' };
  if (bytes.subarray(0, 4).toString('latin1') !== 'CFCL') return { code: 'E_FORMAT' };
  if (bytes[4] !== 1) return { code: 'E_UNSUPPORTED_VERSION' };
  const level = bytes[5] ?? 0;
  const count = bytes.readUInt16BE(6);
  if (level > 7 || count === 0) return { code: 'E_FORMAT' };
  if (8 + 32 * count > bytes.length) return { code: 'E_TRUNCATED' };
  if (8 + 32 * count < bytes.length) return { code: 'E_FORMAT' };
  return { level, ids: Array.from({ length: count }, (_, i) => bytes.subarray(8 + 32 * i, 40 + 32 * i).toString('hex')) };
}

/** §9.5 pack id, read plainly; returns the error code a reader must give, or the id. */
function specPackId(pack: Buffer): { code: string } | { id: string } {
  if (pack.length < 41) return { code: 'E_TRUNCATED' };
  if (pack.subarray(0, 4).toString('latin1') !== 'CFPK') return { code: 'E_FORMAT' };
  const version = pack[4];
  if (version !== 1 && version !== 2) return { code: 'E_UNSUPPORTED_VERSION' };
  const headerStart = pack.length - 4 - pack.readUInt32BE(pack.length - 4);
  if (headerStart < 37) return { code: 'E_FORMAT' };
  const hash = createHash('sha256');
  if (version === 1) hash.update(pack);
  else hash.update(pack.subarray(0, 37)).update(pack.subarray(headerStart));
  return { id: hash.digest('hex') };
}

function codeOfError(error: unknown): string {
  return error instanceof CofferError ? error.code : `UNTYPED ${String(error)}`;
}

function codeOfAsync(run: () => Promise<unknown>): Promise<string> {
  return run().then(() => 'success', codeOfError);
}

function codeOf(run: () => unknown): string {
  try {
    run();
    return 'success';
  } catch (error) {
    return codeOfError(error);
  }
}

describe('engine vectors', () => {
  test('the committed files are exactly what format-vectors.ts writes', () => {
    const generated = engineVectors();
    expect(files.map((f) => f.name)).toEqual([...generated.keys()].sort());
    for (const [name, vector] of generated) expect(readFileSync(join(VECTOR_DIR, name), 'utf8'), name).toBe(serialize(vector));
  });

  test.each(kind('sqlite-boundaries'))('$name', async ({ fields }) => {
    const head = Buffer.from(field(fields, 'head'), 'hex');
    const length = Number(field(fields, 'length'));
    const spec = specBoundaries(head, length);
    expect(spec.layout).toBe(field(fields, 'layout'));
    // The library: detection, and the chunks of a file of `length` bytes that starts with `head`.
    const detected = detectSqlite(head);
    expect(typeof detected === 'object' ? detected.kind : 'other').toBe(spec.layout);
    if (spec.layout === 'other') return;
    expect(String(spec.pageSize)).toBe(field(fields, 'page-size'));
    expect(spec.chunks.join(',')).toBe(field(fields, 'chunks'));
    const file = new Uint8Array(length);
    file.set(head.subarray(0, Math.min(head.length, length)));
    const gear = new GearBoundaries(await deriveChunkerParams(new Uint8Array(32), { min: 1024, avg: 4096, max: 16384 }));
    const chunker = new Chunker(new SqliteAwareBoundaries(gear));
    const lengths = [...chunker.push(file.subarray(0, 7)), ...chunker.push(file.subarray(7)), ...chunker.finish()].map((c) => c.length);
    expect(lengths.join(',')).toBe(field(fields, 'chunks'));
  });

  test.each(kind('pack-id'))('$name', async ({ fields }) => {
    const pack = Buffer.from(field(fields, 'pack'), 'hex');
    const spec = specPackId(pack);
    const expected = field(fields, 'expect');
    expect('code' in spec ? spec.code : 'success').toBe(expected);
    expect(await codeOfAsync(() => packId(pack, 'vector', webBulkCrypto))).toBe(expected);
    if ('code' in spec) return;
    expect(spec.id).toBe(field(fields, 'id'));
    expect(await packId(pack, 'vector', webBulkCrypto)).toBe(field(fields, 'id'));
  });

  test.each(kind('content-list'))('$name', ({ fields }) => {
    const bytes = Buffer.from(field(fields, 'list'), 'hex');
    const spec = specList(bytes);
    const expected = field(fields, 'expect');
    expect('code' in spec ? spec.code : 'success').toBe(expected);
    expect(codeOf(() => decodeContentList(bytes, 'vector'))).toBe(expected);
    if ('code' in spec) return;
    expect(String(spec.level)).toBe(field(fields, 'level'));
    expect(spec.ids.join(',')).toBe(field(fields, 'ids'));
    const decoded = decodeContentList(bytes, 'vector');
    expect(decoded.ids.map((id) => Buffer.from(id).toString('hex')).join(',')).toBe(field(fields, 'ids'));
  });

  test.each(kind('content-list-shape'))('$name', async ({ fields }) => {
    const chunks = Number(field(fields, 'chunks'));
    // Plainly: groups of 32 by position, level after level, while more than one list remains.
    const plain: number[] = [];
    if (chunks > 32) for (let n = chunks; plain.length === 0 || n > 1; n = Math.ceil(n / 32)) plain.push(Math.ceil(n / 32));
    expect(plain.length === 0 ? 'inline' : plain.join(',')).toBe(field(fields, 'lists'));
    // The writer: count the lists it saves at each level.
    const perLevel: number[] = [];
    const sink = {
      saveBlob: (type: BlobType, plaintext: Uint8Array): Promise<{ id: Uint8Array }> => {
        expect(type).toBe('tree');
        const level = plaintext[5] ?? 0;
        perLevel[level] = (perLevel[level] ?? 0) + 1;
        return Promise.resolve({ id: new Uint8Array(createHash('sha256').update(plaintext).digest()) });
      },
    };
    const ids = Array.from({ length: chunks }, (_, i) => createHash('sha256').update(String(i)).digest('hex'));
    const saved = await saveContent(sink, ids);
    expect('content' in saved ? 'inline' : perLevel.join(',')).toBe(field(fields, 'lists'));
  });
});
