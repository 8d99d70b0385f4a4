/**
 * A Coffer repository on some Storage (format.md §9.1): the unlocked config,
 * the derived keys, the blob index, and the write path that turns blobs into
 * packs and index files. Objects are only ever created, never modified; a backup
 * becomes visible when its snapshot is written, after every pack and index
 * file it needs is durable.
 */
import {
  CofferError,
  type RepositoryKeys,
  type SlotDescription,
  type UnlockSecret,
  type UnlockedRepository,
  addKeyslot,
  checkConfigFreshness,
  deriveRepositoryKeys,
  fail,
  fromHex,
  initRepository,
  parseConfigHeader,
  removeKeyslot,
  toHex,
  unlockRepository,
} from '@coffer/core';
import type { Storage } from '../storage/storage.ts';
import { type BulkCrypto, type Sealer, webBulkCrypto } from './bulk-crypto.ts';
import { type BlobType, type Codec, decodePayload, encodePayload, portableCodec } from './blob.ts';
import { BlobIndex, type IndexedPack, type RawPack, type RawIndexFile, openRawIndexFile, sealIndexFile, toRawPack } from './index-file.ts';
import { PackBuilder, type PackEntry, blobAad, describeBlob, packKey, packName } from './pack.ts';
import { type StagedObject, openPackUpload } from './pack-upload.ts';
import { WindowCache } from './window-cache.ts';
import { type Snapshot, type StoredSnapshot, openSnapshot, parseSnapshotName, sealSnapshot, sha256Hex } from './snapshot.ts';

export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;
/** Write an index file after this many packs, so an interrupted backup loses little. */
const PACKS_PER_INDEX = 8;
/** Index files read at once when the index is loaded. */
const INDEX_LOADS_IN_FLIGHT = 8;
const CONFIG_PREFIX = 'config/';

export interface ChunkerSizes {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
}

export interface RepositoryParams {
  readonly chunker: ChunkerSizes;
}

export const DEFAULT_PARAMS: RepositoryParams = { chunker: { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 } };

/** What a client remembers per repository to refuse rollbacks (format.md §5.3, §9.8). */
export interface FreshnessState {
  readonly configGeneration: number;
  readonly configMac: string;
  readonly snapshotSeq: number;
  readonly snapshotId: string | null;
}

export interface FreshnessStore {
  load(repositoryId: string): Promise<FreshnessState | undefined>;
  save(repositoryId: string, state: FreshnessState): Promise<void>;
}

export interface RepositoryOptions {
  readonly codec?: Codec;
  readonly packSize?: number;
  readonly freshness?: FreshnessStore;
  /** How many pack uploads may run at once. */
  readonly uploadConcurrency?: number;
  /** The bulk primitives; Node passes its native implementation. */
  readonly bulkCrypto?: BulkCrypto;
}

export function configName(generation: number): string {
  return `${CONFIG_PREFIX}${String(generation).padStart(16, '0')}`;
}

async function newestConfigName(storage: Storage): Promise<{ name: string; generation: number } | undefined> {
  let newest: { name: string; generation: number } | undefined;
  for await (const object of storage.list(CONFIG_PREFIX)) {
    const match = /^config\/(\d{16})$/.exec(object.name);
    if (!match) continue;
    const generation = Number(match[1]);
    if (!newest || generation > newest.generation) newest = { name: object.name, generation };
  }
  return newest;
}

export class Repository {
  readonly storage: Storage;
  #index = new BlobIndex();
  readonly #windows: WindowCache;
  readonly params: RepositoryParams;
  private unlocked: UnlockedRepository;
  private keysValue: RepositoryKeys;
  private readonly codec: Codec;
  private readonly packSize: number;
  private readonly freshness: FreshnessStore | undefined;
  private readonly uploadConcurrency: number;
  private readonly builders = new Map<BlobType, PackBuilder>();
  private readonly uploads = new Set<Promise<void>>();
  /** Packs durable in storage whose blobs no index file lists yet. */
  private unindexed: RawPack[] = [];
  private readonly readKeys = new Map<string, Promise<Sealer>>();
  readonly bulk: BulkCrypto;
  private uploadError: Error | undefined;
  private addedBytesValue = 0;
  private addedBlobsValue = 0;

  private constructor(storage: Storage, unlocked: UnlockedRepository, keys: RepositoryKeys, options: RepositoryOptions) {
    this.storage = storage;
    this.#windows = new WindowCache(storage);
    this.unlocked = unlocked;
    this.keysValue = keys;
    this.codec = options.codec ?? portableCodec;
    this.packSize = options.packSize ?? DEFAULT_PACK_SIZE;
    this.freshness = options.freshness;
    this.uploadConcurrency = options.uploadConcurrency ?? 2;
    this.bulk = options.bulkCrypto ?? webBulkCrypto;
    this.params = decodeParams(unlocked.config.params);
  }

  /** Creates a repository with one unlock method. Refuses a location that already holds one. */
  static async init(
    storage: Storage,
    first: { description: SlotDescription; secret: UnlockSecret },
    options: RepositoryOptions & { params?: RepositoryParams } = {},
  ): Promise<Repository> {
    if (await newestConfigName(storage)) fail('E_REPOSITORY_EXISTS', `a repository already exists at ${storage.location}`);
    const params = options.params ?? DEFAULT_PARAMS;
    const created = await initRepository({ ...first, params: new TextEncoder().encode(JSON.stringify(params)) });
    await storage.put(configName(1), created.configBytes);
    const repository = new Repository(storage, created, await deriveRepositoryKeys(created.rootKey, created.config.repositoryId), options);
    await repository.remember({ snapshotSeq: 0, snapshotId: null });
    return repository;
  }

  /** Opens the newest config with one unlock method, refusing one older than this client has seen. */
  static async open(storage: Storage, secret: UnlockSecret, options: RepositoryOptions & { slotId?: Uint8Array } = {}): Promise<Repository> {
    const newest = await newestConfigName(storage);
    if (!newest) fail('E_REPOSITORY_NOT_FOUND', `there is no Coffer repository at ${storage.location}`);
    const bytes = await storage.get(newest.name);
    const unlocked = await unlockRepository(bytes, secret, options.slotId === undefined ? {} : { slotId: options.slotId });
    if (unlocked.config.generation !== newest.generation) fail('E_AUTH_FAILED', `${newest.name} holds generation ${String(unlocked.config.generation)}`);
    const repository = new Repository(storage, unlocked, await deriveRepositoryKeys(unlocked.rootKey, unlocked.config.repositoryId), options);
    const seen = await repository.freshness?.load(repository.id);
    checkConfigFreshness(unlocked, seen && { generation: seen.configGeneration, mac: fromHex(seen.configMac) });
    await repository.remember({});
    await repository.loadIndex();
    return repository;
  }

  /** Reads the public config without unlocking (for `cat config`, `key list`). */
  static async readConfig(storage: Storage): Promise<ReturnType<typeof parseConfigHeader>> {
    const newest = await newestConfigName(storage);
    if (!newest) fail('E_REPOSITORY_NOT_FOUND', `there is no Coffer repository at ${storage.location}`);
    return parseConfigHeader(await storage.get(newest.name));
  }

  get id(): string {
    return toHex(this.unlocked.config.repositoryId);
  }

  /** The id (hex) of the keyslot that unlocked this session: the key in use. */
  get openedSlotId(): string {
    return toHex(this.unlocked.slot.slotId);
  }

  get config(): UnlockedRepository['config'] {
    return this.unlocked.config;
  }

  get keys(): RepositoryKeys {
    return this.keysValue;
  }

  get addedBytes(): number {
    return this.addedBytesValue;
  }

  /** The zstd level blobs are compressed at, or undefined when this repository's codec stores them as they are. */
  get compressionLevel(): number | undefined {
    return this.codec.level;
  }

  /** The size a pack is finished at. */
  get packBytes(): number {
    return this.packSize;
  }

  get addedBlobs(): number {
    return this.addedBlobsValue;
  }

  async addKeyslot(added: { description: SlotDescription; secret: UnlockSecret }): Promise<string> {
    const next = await addKeyslot(this.unlocked, added);
    await this.storage.put(configName(next.config.generation), next.configBytes);
    this.unlocked = next;
    await this.remember({});
    return toHex(next.added.slotId);
  }

  async removeKeyslot(slotId: Uint8Array): Promise<void> {
    const next = await removeKeyslot(this.unlocked, slotId);
    await this.storage.put(configName(next.config.generation), next.configBytes);
    this.unlocked = next;
    await this.remember({});
  }

  private async remember(update: Partial<FreshnessState>): Promise<void> {
    if (!this.freshness) return;
    const previous = await this.freshness.load(this.id);
    const state: FreshnessState = {
      snapshotSeq: previous?.snapshotSeq ?? 0,
      snapshotId: previous?.snapshotId ?? null,
      ...update,
      configGeneration: this.unlocked.config.generation,
      configMac: toHex(this.unlocked.mac),
    };
    // Unchanged state is not written again: each save is an fsync'ed file (freshness-file.ts).
    if (
      previous?.snapshotSeq === state.snapshotSeq &&
      previous.snapshotId === state.snapshotId &&
      previous.configGeneration === state.configGeneration &&
      previous.configMac === state.configMac
    ) {
      return;
    }
    await this.freshness.save(this.id, state);
  }

  /** The blob index as last loaded. */
  get index(): BlobIndex {
    return this.#index;
  }

  /**
   * Reads the index again from storage. Callers MUST do this after taking the
   * repository lock: an index read before it may still list packs a prune
   * removed in between, and a backup would then reference blobs that are gone.
   */
  async reloadIndex(): Promise<void> {
    if (this.builders.size > 0 || this.uploads.size > 0 || this.unindexed.length > 0 || this.#index.claimed > 0) {
      fail('E_INVALID_ARGUMENT', 'reloadIndex() while blobs are being written');
    }
    // A prune may have removed or rewritten packs since the windows were read.
    this.#windows.clear();
    // Index files never change and are named by their hash: the same names, the same index.
    // (Any other writer — a backup adding files, a prune superseding them — changes the names.)
    const names = await this.indexFileIds();
    if (this.#indexFiles && names.length === this.#indexFiles.size && names.every((name) => this.#indexFiles?.has(name))) return;
    this.#index = new BlobIndex();
    await this.loadIndex();
  }

  /** The index files the in-memory index holds (by id), or undefined before the first load. */
  #indexFiles: Set<string> | undefined;

  /** Loads every index file not superseded by another. */
  async loadIndex(): Promise<void> {
    const names: string[] = [];
    for await (const object of this.storage.list('index/')) names.push(object.name);
    // Read and opened several at once (each is a storage round trip), kept in listing order.
    const opened = new Array<RawIndexFile>(names.length);
    let next = 0;
    const load = async (): Promise<void> => {
      while (next < names.length) {
        const i = next++;
        const name = names[i] as string;
        const bytes = await this.storage.get(name);
        if ((await sha256Hex(bytes)) !== name.slice('index/'.length)) fail('E_INTEGRITY', `index file ${name} does not match its name`);
        opened[i] = await openRawIndexFile(this.keys.index, bytes, name);
      }
    };
    await Promise.all(Array.from({ length: Math.min(INDEX_LOADS_IN_FLIGHT, names.length) }, load));
    const files = new Map<string, RawIndexFile>(names.map((name, i) => [name.slice('index/'.length), opened[i] as RawIndexFile]));
    this.#indexFiles = new Set(files.keys());
    const superseded = new Set([...files.values()].flatMap((file) => file.supersedes));
    const packs = [...files].filter(([id]) => !superseded.has(id)).flatMap(([, file]) => file.packs);
    this.#index.reserveFor(packs);
    for (const pack of packs) this.#index.addRawPack(pack);
  }

  /** Names of index files currently in use (for prune, which supersedes them). */
  async indexFileIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const object of this.storage.list('index/')) ids.push(object.name.slice('index/'.length));
    return ids;
  }

  /** Whether the repository has the blob or is writing it. */
  hasBlob(type: BlobType, id: Uint8Array): boolean {
    return this.#index.known(type, id);
  }

  async blobIdOf(plaintext: Uint8Array): Promise<Uint8Array> {
    return this.bulk.hmacSha256(this.keys.blobId, plaintext);
  }

  /**
   * Stores a blob unless the repository already has it. Safe to call
   * concurrently; returns the id and whether new bytes were added.
   */
  async saveBlob(type: BlobType, plaintext: Uint8Array, knownId?: Uint8Array): Promise<{ id: Uint8Array; added: boolean }> {
    this.throwUploadError();
    const id = knownId ?? (await this.blobIdOf(plaintext));
    if (!this.#index.claim(type, id)) return { id, added: false };
    const payload = await encodePayload(this.codec, plaintext);
    // From here to the rotation there is no await: the pack a blob lands in is decided atomically.
    let builder = this.builders.get(type);
    if (!builder) {
      builder = new PackBuilder(this.keys.blobEncryption, this.bulk);
      this.builders.set(type, builder);
    }
    builder.add(type, id, payload, plaintext.length);
    this.addedBytesValue += plaintext.length;
    this.addedBlobsValue++;
    if (builder.size >= this.packSize) {
      this.builders.delete(type);
      await this.upload(builder);
    }
    return { id, added: true };
  }

  /**
   * Claims a blob for a caller that writes packs of its own (node's pack workers): true when the
   * repository neither has the blob nor is writing it, and the caller must now store it and
   * report its pack through packStored(). Counted as added from here on.
   */
  claimBlob(type: BlobType, id: Uint8Array, rawLength: number): boolean {
    this.throwUploadError();
    if (!this.#index.claim(type, id)) return false;
    this.addedBytesValue += rawLength;
    this.addedBlobsValue++;
    return true;
  }

  /** A pack object for such a caller, written while it is being built (pack-upload.ts). */
  openPackUpload(): Promise<StagedObject> {
    return openPackUpload(this.storage, 'data');
  }

  /** Such a caller's pack is durable under its name: its blobs go into the next index file. */
  packStored(pack: RawPack): void {
    this.unindexed.push(pack);
    if (this.unindexed.length >= PACKS_PER_INDEX) void this.track(this.writeIndex());
  }

  /** Keeps a background write in `uploads`, which flush() waits for; its failure fails the repository's next write. */
  private track(work: Promise<void>): Promise<void> {
    const task = work.catch((error: unknown) => {
      this.uploadError ??= error instanceof Error ? error : new Error(String(error));
    });
    this.uploads.add(task);
    void task.finally(() => this.uploads.delete(task));
    return task;
  }

  private async upload(builder: PackBuilder): Promise<void> {
    void this.track(
      (async () => {
        const { id, bytes, entries } = await builder.finish();
        await this.storage.put(packName(id), bytes);
        this.unindexed.push(toRawPack({ id, salt: builder.salt.slice(), entries }));
        if (this.unindexed.length >= PACKS_PER_INDEX) await this.writeIndex();
      })(),
    );
    // Back-pressure: the caller waits for a slot, so memory stays at about (concurrency + 2) packs.
    while (this.uploads.size >= this.uploadConcurrency) await Promise.race(this.uploads);
  }

  private throwUploadError(): void {
    if (this.uploadError !== undefined) throw this.uploadError;
  }

  private async writeIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed;
    this.unindexed = [];
    const bytes = await sealIndexFile(this.keys.index, { supersedes: [], packs });
    const id = await sha256Hex(bytes);
    await this.storage.put(`index/${id}`, bytes);
    this.#indexFiles?.add(id);
    // Their claims become locations: the blobs are now indexed.
    for (const pack of packs) this.#index.addRawPack(pack);
  }

  /** Finishes open packs, waits for every upload, and writes the index for them. */
  async flush(): Promise<void> {
    for (const [type, builder] of this.builders) {
      this.builders.delete(type);
      if (builder.count > 0) await this.upload(builder);
    }
    while (this.uploads.size > 0) await Promise.all(this.uploads);
    this.throwUploadError();
    await this.writeIndex();
  }

  /**
   * Forgets the cached windows of tree packs (window-cache.ts). Objects never change, so the
   * cache is exact within one operation; a new operation starts from what storage holds now.
   */
  forgetReads(): void {
    this.#windows.clear();
  }

  /** Loads and verifies one blob: the frame must authenticate and the plaintext must hash to its id. */
  async loadBlob(type: BlobType, id: Uint8Array): Promise<Uint8Array> {
    const location = this.#index.lookup(type, id);
    if (!location) fail('E_INTEGRITY', `${describeBlob(type, id)} is not in the index`);
    const name = packName(location.packId);
    const { offset, length } = location.entry;
    // Tree blobs are small and stored side by side: they are read through cached windows.
    const frame = await (type === 'tree' ? this.#windows.read(name, offset, length) : this.storage.get(name, { offset, length })).catch((error: unknown) => {
      if (error instanceof CofferError && error.code === 'E_STORAGE_NOT_FOUND') fail('E_INTEGRITY', `pack ${location.packId} is missing (needed for ${describeBlob(type, id)})`, error);
      throw error;
    });
    return this.openBlob(location.packId, location.salt, location.entry, frame);
  }

  /** Opens a blob frame already read from pack `packId`. */
  async openBlob(packId: string, salt: Uint8Array, entry: PackEntry, frame: Uint8Array): Promise<Uint8Array> {
    const where = `${describeBlob(entry.type, entry.id)} in pack ${packId}`;
    if (frame.length !== entry.length) fail('E_INTEGRITY', `${where} is truncated`);
    let keyPromise = this.readKeys.get(packId);
    if (!keyPromise) {
      keyPromise = packKey(this.keys.blobEncryption, salt, this.bulk);
      this.readKeys.set(packId, keyPromise);
    }
    const key = await keyPromise;
    let payload: Uint8Array;
    try {
      payload = await key.open(frame, blobAad(entry.type, entry.id));
    } catch (error) {
      if (error instanceof CofferError) fail('E_INTEGRITY', `${where} is damaged (${error.code})`, error);
      throw error;
    }
    const plaintext = await decodePayload(this.codec, payload, entry.rawLength, where);
    const actual = await this.blobIdOf(plaintext);
    if (toHex(actual) !== toHex(entry.id)) fail('E_INTEGRITY', `${where} does not hash to its id`);
    return plaintext;
  }

  /** Every snapshot, verified, ordered by sequence number. */
  async snapshots(): Promise<StoredSnapshot[]> {
    const names: string[] = [];
    for await (const object of this.storage.list('snapshots/')) if (parseSnapshotName(object.name)) names.push(object.name);
    const loaded = await Promise.all(names.map(async (name) => openSnapshot(this.keys.manifest, name, await this.storage.get(name))));
    return loaded.sort((a, b) => a.snapshot.seq - b.snapshot.seq || a.id.localeCompare(b.id));
  }

  /**
   * The newest snapshot, after the rollback checks of format.md §9.8: its
   * sequence number is not below the newest this client saw; at equal sequence
   * it is the same snapshot; and while the remembered one still exists, the
   * newest's chain reaches it.
   */
  async latestSnapshot(all?: StoredSnapshot[]): Promise<StoredSnapshot | undefined> {
    const snapshots = all ?? (await this.snapshots());
    const latest = snapshots.at(-1);
    const seen = await this.freshness?.load(this.id);
    if (seen && seen.snapshotSeq > 0) {
      if (!latest || latest.snapshot.seq < seen.snapshotSeq) {
        fail('E_ROLLBACK', `the repository's newest snapshot is ${latest ? `#${String(latest.snapshot.seq)}` : 'none'}, but this device already saw #${String(seen.snapshotSeq)}: storage was rolled back or snapshots were removed`);
      }
      const byId = new Map(snapshots.map((s) => [s.id, s]));
      if (latest.snapshot.seq === seen.snapshotSeq && latest.id !== seen.snapshotId) {
        fail('E_ROLLBACK', `snapshot #${String(seen.snapshotSeq)} is not the one this device saw: the history was forked`);
      }
      if (seen.snapshotId && byId.has(seen.snapshotId)) {
        let cursor: StoredSnapshot | undefined = latest;
        while (cursor && cursor.id !== seen.snapshotId && cursor.snapshot.seq > seen.snapshotSeq) cursor = cursor.snapshot.prev ? byId.get(cursor.snapshot.prev) : undefined;
        if (cursor && cursor.snapshot.seq <= seen.snapshotSeq && cursor.id !== seen.snapshotId) {
          fail('E_ROLLBACK', `the newest snapshot does not descend from #${String(seen.snapshotSeq)} that this device saw: the history was forked`);
        }
      }
    }
    if (latest) await this.remember({ snapshotSeq: latest.snapshot.seq, snapshotId: latest.id });
    return latest;
  }

  /** Writes a snapshot as the next link of the chain. Call after flush(). */
  async saveSnapshot(fields: Omit<Snapshot, 'version' | 'seq' | 'prev'>): Promise<StoredSnapshot> {
    if (this.builders.size > 0 || this.uploads.size > 0 || this.unindexed.length > 0) fail('E_INVALID_ARGUMENT', 'flush() before writing a snapshot');
    const latest = await this.latestSnapshot();
    const snapshot: Snapshot = { version: 1, seq: (latest?.snapshot.seq ?? 0) + 1, prev: latest?.id ?? null, ...fields };
    const sealed = await sealSnapshot(this.keys.manifest, snapshot);
    await this.storage.put(sealed.name, sealed.bytes);
    await this.remember({ snapshotSeq: snapshot.seq, snapshotId: sealed.id });
    return { id: sealed.id, name: sealed.name, snapshot };
  }

  /** Finds a snapshot by "latest", a full id or an unambiguous id prefix (≥ 4 hex digits). */
  async findSnapshot(reference: string): Promise<StoredSnapshot> {
    const all = await this.snapshots();
    if (reference === 'latest') {
      const latest = await this.latestSnapshot(all);
      if (!latest) fail('E_NOT_FOUND', 'the repository has no snapshot yet');
      return latest;
    }
    if (!/^[0-9a-f]{4,64}$/.test(reference)) fail('E_INVALID_ARGUMENT', `"${reference}" is not a snapshot id`);
    const matches = all.filter((s) => s.id.startsWith(reference));
    if (matches.length === 0) fail('E_NOT_FOUND', `no snapshot ${reference}`);
    if (matches.length > 1) fail('E_INVALID_ARGUMENT', `snapshot id ${reference} is ambiguous`);
    return matches[0] as StoredSnapshot;
  }

  /**
   * A writer of packs that are not indexed by itself: prune copies live blobs
   * through it and lists the packs in the index file it writes.
   */
  async newPackSink(): Promise<{ add(type: BlobType, plaintext: Uint8Array, id: Uint8Array): Promise<void>; finish(): Promise<IndexedPack[]> }> {
    const written: IndexedPack[] = [];
    let builder: PackBuilder | undefined;
    const emit = async (done: PackBuilder): Promise<void> => {
      const { id, bytes, entries } = await done.finish();
      await this.storage.put(packName(id), bytes);
      written.push({ id, salt: done.salt.slice(), entries });
    };
    return Promise.resolve({
      add: async (type, plaintext, id) => {
        builder ??= new PackBuilder(this.keys.blobEncryption, this.bulk);
        builder.add(type, id, await encodePayload(this.codec, plaintext), plaintext.length);
        if (builder.size >= this.packSize) {
          const done = builder;
          builder = undefined;
          await emit(done);
        }
      },
      finish: async () => {
        if (builder && builder.count > 0) await emit(builder);
        builder = undefined;
        return written;
      },
    });
  }

  /** The key for lock objects: they are sealed so storage learns nothing from them. */
  get lockKey(): Uint8Array {
    return this.keys.index;
  }
}

function decodeParams(bytes: Uint8Array): RepositoryParams {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<RepositoryParams>;
    const c = value.chunker;
    if (c && [c.min, c.avg, c.max].every((n) => Number.isSafeInteger(n) && n > 0) && c.min <= c.avg && c.avg <= c.max) return { chunker: c };
  } catch {
    // Fall through to the error below.
  }
  return fail('E_FORMAT', 'the repository config params are not valid engine parameters');
}
