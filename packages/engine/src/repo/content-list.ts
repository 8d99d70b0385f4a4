/**
 * Content lists (format.md §9.12): the chunk ids of a file with many chunks, kept in a tree of
 * small list blobs instead of inline in its directory's tree blob.
 *
 *   list = "CFCL" ‖ version:u8 (= 1) ‖ level:u8 ‖ count:u16 ‖ id:32 × count     (1 ≤ count)
 *
 * A level-0 list names data blobs; a level-h list names lists of level h − 1. List blobs are
 * stored as tree blobs (metadata, like directories). A database cut into 4 KiB pages has 256 ids
 * per MiB: inline, a 190 MB file would put 47,000 hex ids (3 MB) into every tree that holds it,
 * rewritten whenever anything in that directory changes. As a tree of lists, the node holds one
 * id, and a snapshot adds only the lists whose pages changed (and their ancestors). Lists group
 * ids by position (ids 0–31, 32–63, …), which matches how SQLite changes pages: in place, never
 * shifting the ones after.
 */
import { ByteReader, ByteWriter, fail, fromHex, toHex } from '@coffer/core';
import { flatHex } from './hex.ts';
import type { BlobType } from './blob.ts';
import { bytesOfHex } from './hex.ts';
import type { TreeNode } from './tree.ts';

export const LIST_MAGIC = 'CFCL';
export const LIST_VERSION = 1;
/** Ids per list as this writer groups them. Readers accept 1..65535. */
export const LIST_FANOUT = 32;
/** A file with at most this many chunks lists them inline in its tree node. */
export const INLINE_CONTENT_LIMIT = 32;
/** Levels 0..7: 32^8 chunks are far beyond any file; the bound stops a forged chain early. */
export const MAX_LIST_LEVEL = 7;
const ID_BYTES = 32;

export interface ContentList {
  readonly level: number;
  readonly ids: readonly Uint8Array[];
}

/** What the content functions need from a repository (a Repository, or a test double). */
export interface BlobSource {
  loadBlob(type: BlobType, id: Uint8Array): Promise<Uint8Array>;
  hasBlob(type: BlobType, id: Uint8Array): boolean;
}

export interface BlobSink {
  saveBlob(type: BlobType, plaintext: Uint8Array): Promise<{ id: Uint8Array }>;
}

export function encodeContentList(list: ContentList): Uint8Array {
  const { level, ids } = list;
  if (!Number.isInteger(level) || level < 0 || level > MAX_LIST_LEVEL) fail('E_INVALID_ARGUMENT', `a list level must be in 0..${String(MAX_LIST_LEVEL)}`);
  if (ids.length < 1 || ids.length > 0xffff) fail('E_INVALID_ARGUMENT', 'a list holds 1..65535 ids');
  const writer = new ByteWriter().bytes(new TextEncoder().encode(LIST_MAGIC)).u8(LIST_VERSION).u8(level).u16(ids.length);
  for (const id of ids) {
    if (!(id instanceof Uint8Array) || id.length !== ID_BYTES) fail('E_INVALID_ARGUMENT', 'a list entry must be a 32-byte blob id');
    writer.bytes(id);
  }
  return writer.finish();
}

export function decodeContentList(bytes: Uint8Array, where: string): ContentList {
  const { level, ids } = decodePackedList(bytes, where);
  const out: Uint8Array[] = [];
  for (let at = 0; at < ids.length; at += ID_BYTES) out.push(ids.slice(at, at + ID_BYTES));
  return { level, ids: out };
}

/** A content list with its ids as one view of `bytes`, 32 bytes each; validated like decodeContentList. */
export function decodePackedList(bytes: Uint8Array, where: string): { level: number; ids: Uint8Array } {
  const reader = new ByteReader(bytes, where);
  const magic = reader.bytesOf(4, 'magic');
  if (new TextDecoder().decode(magic) !== LIST_MAGIC) fail('E_FORMAT', `${where}: not a content list (bad magic)`);
  const version = reader.u8('version');
  if (version !== LIST_VERSION) fail('E_UNSUPPORTED_VERSION', `${where}: content list version ${String(version)}`);
  const level = reader.u8('level');
  if (level > MAX_LIST_LEVEL) fail('E_FORMAT', `${where}: list level ${String(level)} exceeds ${String(MAX_LIST_LEVEL)}`);
  const count = reader.u16('count');
  if (count === 0) fail('E_FORMAT', `${where}: an empty content list`);
  if (count * ID_BYTES > reader.remaining) fail('E_TRUNCATED', `${where}: ${String(count)} ids declared, ${String(reader.remaining)} bytes left`);
  if (count * ID_BYTES < reader.remaining) fail('E_FORMAT', `${where}: ${String(reader.remaining - count * ID_BYTES)} unexpected trailing bytes`);
  return { level, ids: bytes.subarray(reader.position, reader.position + count * ID_BYTES) };
}

/**
 * Stores a file's chunk ids (hex, in order) and returns the tree-node fields that name them:
 * `content` inline for up to 32 chunks, otherwise `contentList`, the root of lists built level by
 * level, 32 ids per list, until one list remains.
 */
export async function saveContent(sink: BlobSink, ids: readonly string[]): Promise<{ content: string[] } | { contentList: string }> {
  if (ids.length <= INLINE_CONTENT_LIMIT) return { content: [...ids] };
  let level = 0;
  let current = ids.map((id) => bytesOfHex(id) ?? fail('E_INVALID_ARGUMENT', 'a chunk id must be hex'));
  for (;;) {
    const lists: Promise<{ id: Uint8Array }>[] = [];
    for (let at = 0; at < current.length; at += LIST_FANOUT) {
      lists.push(sink.saveBlob('tree', encodeContentList({ level, ids: current.slice(at, at + LIST_FANOUT) })));
    }
    const saved = await Promise.all(lists);
    if (saved.length === 1) return { contentList: toHex((saved[0] as { id: Uint8Array }).id) };
    current = saved.map((s) => s.id);
    level++;
  }
}

/**
 * saveContent for ids packed 32 bytes each, as a backup has them: the same lists, byte for byte,
 * without a hex string, an array and a Uint8Array per id (for a database of 47,000 pages those
 * made the largest heap of a whole backup). Lists are saved a few at a time, not all at once.
 */
export async function saveContentIds(sink: BlobSink, ids: Uint8Array): Promise<{ content: string[] } | { contentList: string }> {
  if (ids.length % ID_BYTES !== 0) fail('E_INVALID_ARGUMENT', 'packed ids must be 32 bytes each');
  const count = ids.length / ID_BYTES;
  if (count <= INLINE_CONTENT_LIMIT) return { content: Array.from({ length: count }, (_, i) => flatHex(ids.subarray(ID_BYTES * i, ID_BYTES * (i + 1)))) };
  let level = 0;
  let current = ids;
  for (;;) {
    const lists = Math.ceil(current.length / (ID_BYTES * LIST_FANOUT));
    const next = new Uint8Array(ID_BYTES * lists);
    const lower = current;
    const listLevel = level;
    await mapInOrder(Array.from({ length: lists }, (_, i) => i), SAVES_IN_FLIGHT, async (i) => {
      const members = lower.subarray(ID_BYTES * LIST_FANOUT * i, ID_BYTES * LIST_FANOUT * (i + 1));
      const { id } = await sink.saveBlob('tree', encodePackedList(listLevel, members));
      next.set(id, ID_BYTES * i);
    });
    if (lists === 1) return { contentList: flatHex(next) };
    current = next;
    level++;
  }
}

/** Content-list blobs saved at once by saveContentIds. */
const SAVES_IN_FLIGHT = 64;

/** encodeContentList's bytes for ids packed in one array. */
function encodePackedList(level: number, ids: Uint8Array): Uint8Array {
  const count = ids.length / ID_BYTES;
  const out = new Uint8Array(8 + ids.length);
  out.set(new TextEncoder().encode(LIST_MAGIC));
  out[4] = LIST_VERSION;
  out[5] = level;
  new DataView(out.buffer).setUint16(6, count);
  out.set(ids, 8);
  return out;
}

export interface ExpandOptions {
  /** Called with each list blob's id (hex) before it is read; returning false skips the list and all below it. */
  readonly enter?: (listId: string) => boolean;
}

/** Lists read at once: enough to hide storage latency, few enough for any file-descriptor limit. */
const LOADS_IN_FLIGHT = 16;

/**
 * The data blob ids (hex, in order) under a content list, read level by level. Every list is
 * authenticated and checked against its id by loadBlob; each child must sit exactly one level
 * below its parent (E_FORMAT), so no forged list can loop or mix data ids with list ids.
 */
export async function expandContentList(source: Pick<BlobSource, 'loadBlob'>, rootId: string, options: ExpandOptions = {}): Promise<string[]> {
  let frontier = [rootId];
  let expected: number | undefined;
  for (;;) {
    const entered = options.enter ? frontier.filter((id) => options.enter?.(id) ?? true) : frontier;
    const lists = await mapInOrder(entered, LOADS_IN_FLIGHT, async (listId) => {
      const where = `content list ${listId.slice(0, 16)}`;
      const list = decodeContentList(await source.loadBlob('tree', fromHex(listId)), where);
      if (expected !== undefined && list.level !== expected) fail('E_FORMAT', `${where}: level ${String(list.level)} where ${String(expected)} belongs`);
      return list;
    });
    const level = lists[0]?.level;
    // Siblings share a level: a root's children all sit one below it, and so on down.
    if (lists.some((l) => l.level !== level)) fail('E_FORMAT', 'content lists of one level disagree');
    // flatHex, not toHex: a restore holds every id of a database's pages at once (hex.ts).
    const ids = lists.flatMap((l) => l.ids.map(flatHex));
    if (level === undefined || level === 0) return ids;
    frontier = ids;
    expected = level - 1;
  }
}

/**
 * expandContentList with the ids packed 32 bytes each, as a restore plans with them: one array
 * per list instead of an array, a Uint8Array and a string per id (for a database of 47,000 pages
 * those were the largest heap of a restore). Same reads, same checks.
 */
export async function expandContentIds(source: Pick<BlobSource, 'loadBlob'>, rootId: string): Promise<Uint8Array> {
  let frontier = bytesOfHex(rootId) ?? fail('E_INVALID_ARGUMENT', 'a content list id must be hex');
  let expected: number | undefined;
  for (;;) {
    const count = frontier.length / ID_BYTES;
    const lower = frontier;
    const lists = await mapInOrder(
      Array.from({ length: count }, (_, i) => i),
      LOADS_IN_FLIGHT,
      async (i) => {
        const id = lower.subarray(ID_BYTES * i, ID_BYTES * (i + 1));
        const where = `content list ${flatHex(id).slice(0, 16)}`;
        const list = decodePackedList(await source.loadBlob('tree', id), where);
        if (expected !== undefined && list.level !== expected) fail('E_FORMAT', `${where}: level ${String(list.level)} where ${String(expected)} belongs`);
        return list;
      },
    );
    const level = lists[0]?.level;
    // Siblings share a level: a root's children all sit one below it, and so on down.
    if (lists.some((l) => l.level !== level)) fail('E_FORMAT', 'content lists of one level disagree');
    const ids = new Uint8Array(lists.reduce((n, l) => n + l.ids.length, 0));
    let at = 0;
    for (const list of lists) {
      ids.set(list.ids, at);
      at += list.ids.length;
    }
    if (level === undefined || level === 0) return ids;
    frontier = ids;
    expected = level - 1;
  }
}

/** The data blob ids of a file node, packed 32 bytes each, inline or from its content list. */
export async function fileContentIds(source: Pick<BlobSource, 'loadBlob'>, node: TreeNode): Promise<Uint8Array> {
  if (node.contentList !== undefined) return expandContentIds(source, node.contentList);
  const content = node.content ?? [];
  const ids = new Uint8Array(ID_BYTES * content.length);
  for (const [i, hex] of content.entries()) ids.set(bytesOfHex(hex) ?? fail('E_FORMAT', 'a chunk id must be hex'), ID_BYTES * i);
  return ids;
}

/** `fn` over `items` with at most `limit` calls pending; results in the order of `items`. */
async function mapInOrder<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The data blob ids (hex, in order) of a file node, inline or from its content list. */
export async function fileContent(source: Pick<BlobSource, 'loadBlob'>, node: TreeNode): Promise<string[]> {
  if (node.contentList !== undefined) return expandContentList(source, node.contentList);
  return [...(node.content ?? [])];
}

/**
 * Whether every blob a file node needs — its lists and its data — is in the index, so a backup may
 * reuse the node without reading the file. A list the index lacks answers false without a read.
 */
export async function contentKnown(source: BlobSource, node: TreeNode): Promise<boolean> {
  if (node.contentList === undefined) return (node.content ?? []).every((id) => source.hasBlob('data', fromHex(id)));
  const absent = new Set<string>();
  const ids = await expandContentList(source, node.contentList, {
    enter: (listId) => {
      if (!source.hasBlob('tree', fromHex(listId))) absent.add(listId);
      return absent.size === 0;
    },
  });
  return absent.size === 0 && ids.every((id) => source.hasBlob('data', fromHex(id)));
}
