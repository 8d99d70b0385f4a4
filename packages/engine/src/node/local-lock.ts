/**
 * The lock that makes LocalStorage.swap a compare-and-swap, as git does for
 * refs: `open(..., 'wx')` creates the lock file only if it is absent, so one
 * swapper at a time reads, compares and replaces the pointer.
 *
 * A crash leaves the lock file behind; one older than `staleMs` is broken
 * (moved aside, then removed). A live holder that stalls longer than that
 * loses its lock; it calls `stillHeld` just before its final rename and backs
 * off, so the only unsafe window is the gap between that check and the rename
 * in a holder that stalled for `staleMs` right before it.
 */
import { randomBytes } from 'node:crypto';
import { CofferError } from '@coffer/core';
import { errnoCode, fsFailure, isMissing } from './local-errors.ts';
import type { LocalFs } from './local-fs.ts';

export interface LockTiming {
  /** A lock file older than this is a crash leftover (ms). */
  readonly staleMs: number;
  /** How long to wait for a live lock before giving up (ms). */
  readonly waitMs: number;
}

export interface HeldLock {
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

export async function acquireLock(fs: LocalFs, path: string, timing: LockTiming): Promise<HeldLock> {
  const token = `${String(process.pid)}-${randomBytes(12).toString('hex')}`;
  const deadline = Date.now() + timing.waitMs;
  let pause = 2;
  for (;;) {
    try {
      const handle = await fs.open(path, 'wx', 0o600);
      try {
        await handle.writeFile(token);
      } finally {
        await handle.close();
      }
      return heldLock(fs, path, token);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw fsFailure(error, 'swap: taking the lock');
    }
    if (await breakIfStale(fs, path, timing.staleMs)) continue;
    if (Date.now() > deadline) {
      throw new CofferError('E_STORAGE_UNAVAILABLE', `swap: the pointer stayed locked by another writer for ${String(timing.waitMs)} ms`);
    }
    // Full jitter, capped low: a holder keeps the lock for a write and two fsyncs.
    await sleep(Math.random() * pause);
    pause = Math.min(pause * 2, 50);
  }
}

async function breakIfStale(fs: LocalFs, path: string, staleMs: number): Promise<boolean> {
  try {
    if (Date.now() - (await fs.stat(path)).mtimeMs <= staleMs) return false;
    // Move it aside, then look again at what was moved: between our stat and
    // our rename another breaker may have removed the stale lock and a new
    // swapper taken a fresh one. If so, put the fresh one back (create-only,
    // so nothing newer is replaced). Its holder checks stillHeld before
    // renaming, so it backs off if the lock was gone for a moment.
    const aside = `${path}.~stale-${randomBytes(6).toString('hex')}`;
    await fs.rename(path, aside);
    if (Date.now() - (await fs.stat(aside)).mtimeMs <= staleMs) {
      await fs.link(aside, path).catch(() => undefined);
    }
    await fs.unlink(aside);
    return true;
  } catch (error) {
    // Released or broken by someone else meanwhile: try again.
    if (isMissing(error)) return true;
    throw fsFailure(error, 'swap: checking a stale lock');
  }
}

function heldLock(fs: LocalFs, path: string, token: string): HeldLock {
  const stillHeld = async (): Promise<boolean> => {
    try {
      return (await fs.readFile(path, 'utf8')) === token;
    } catch (error) {
      if (isMissing(error)) return false;
      throw fsFailure(error, 'swap: checking the lock');
    }
  };
  return {
    stillHeld,
    release: async () => {
      // Never remove a lock that a breaker has since handed to someone else.
      if (await stillHeld()) await fs.unlink(path).catch(() => undefined);
    },
  };
}
