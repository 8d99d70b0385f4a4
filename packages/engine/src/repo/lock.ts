/**
 * Repository locks (format.md §9.9): a backup holds a shared lock, prune an
 * exclusive one, so prune never deletes a pack that a running backup is about
 * to reference. Lock objects are `locks/<random id>`, sealed objects of kind
 * "CFLK" holding {exclusive, host, pid, time}. A lock is stale when its time is
 * more than 30 minutes old (holders refresh every 5 minutes) or when it belongs
 * to a process of this host that no longer runs.
 */
import { LABELS, fail, randomBytes, toHex } from '@coffer/core';
import type { Storage } from '../storage/storage.ts';
import { type SealedObjectKind, openObject, sealObject } from './sealed-object.ts';

export const LOCK_OBJECT: SealedObjectKind = { magic: 'CFLK', label: LABELS.lockKey, what: 'lock' };
export const LOCK_STALE_MS = 30 * 60 * 1000;
export const LOCK_REFRESH_MS = 5 * 60 * 1000;

export interface LockInfo {
  readonly exclusive: boolean;
  readonly host: string;
  readonly pid: number;
  readonly time: string;
}

export interface LockEnvironment {
  readonly host: string;
  readonly pid: number;
  /** Whether a process of this host is still running. */
  isAlive(pid: number): boolean;
  now(): number;
}

export class RepositoryLock {
  private name: string;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly storage: Storage;
  private readonly key: Uint8Array;
  private readonly info: LockInfo;

  private constructor(storage: Storage, key: Uint8Array, name: string, info: LockInfo) {
    this.storage = storage;
    this.key = key;
    this.name = name;
    this.info = info;
  }

  static async acquire(storage: Storage, key: Uint8Array, exclusive: boolean, env: LockEnvironment): Promise<RepositoryLock> {
    await checkConflicts(storage, key, exclusive, env, undefined);
    const info: LockInfo = { exclusive, host: env.host, pid: env.pid, time: new Date(env.now()).toISOString() };
    const name = await writeLock(storage, key, info);
    const lock = new RepositoryLock(storage, key, name, info);
    try {
      // Two processes may have checked at once; looking again after writing ours settles it.
      await checkConflicts(storage, key, exclusive, env, name);
    } catch (error) {
      await lock.release();
      throw error;
    }
    lock.timer = setInterval(() => void lock.refresh(env), LOCK_REFRESH_MS);
    lock.timer.unref();
    return lock;
  }

  private async refresh(env: LockEnvironment): Promise<void> {
    const old = this.name;
    this.name = await writeLock(this.storage, this.key, { ...this.info, time: new Date(env.now()).toISOString() });
    await this.storage.delete(old);
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.storage.delete(this.name);
  }
}

async function writeLock(storage: Storage, key: Uint8Array, info: LockInfo): Promise<string> {
  const name = `locks/${toHex(randomBytes(16))}`;
  await storage.put(name, await sealObject(LOCK_OBJECT, key, new TextEncoder().encode(JSON.stringify(info))));
  return name;
}

export async function readLocks(storage: Storage, key: Uint8Array): Promise<{ name: string; info: LockInfo | undefined }[]> {
  const out: { name: string; info: LockInfo | undefined }[] = [];
  for await (const object of storage.list('locks/')) {
    try {
      const bytes = await storage.get(object.name);
      out.push({ name: object.name, info: JSON.parse(new TextDecoder().decode(await openObject(LOCK_OBJECT, key, bytes, object.name))) as LockInfo });
    } catch {
      // A lock we cannot read (damaged, half-deleted) blocks nobody; `unlock` removes it.
      out.push({ name: object.name, info: undefined });
    }
  }
  return out;
}

export function isStale(info: LockInfo, env: LockEnvironment): boolean {
  if (env.now() - Date.parse(info.time) > LOCK_STALE_MS) return true;
  return info.host === env.host && info.pid !== env.pid && !env.isAlive(info.pid);
}

async function checkConflicts(storage: Storage, key: Uint8Array, exclusive: boolean, env: LockEnvironment, own: string | undefined): Promise<void> {
  for (const { name, info } of await readLocks(storage, key)) {
    if (name === own || info === undefined || isStale(info, env)) continue;
    if (exclusive || info.exclusive) {
      fail('E_REPOSITORY_LOCKED', `the repository is locked ${info.exclusive ? 'exclusively' : ''} by ${info.host} (pid ${String(info.pid)}) since ${info.time}`);
    }
  }
}
