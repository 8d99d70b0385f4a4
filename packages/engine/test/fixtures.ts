import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRecoveryKey, type UnlockSecret } from '@coffer/core';
import { afterEach, beforeEach } from 'vitest';

/** What the engine's tests share: a first keyslot, small chunker parameters, a fresh directory per test. */
export const recoveryKey = generateRecoveryKey();
export const secret: UnlockSecret = { type: 'recovery-key', recoveryKey };
export const first = { description: { type: 'recovery-key' as const, metadata: { label: 'Recovery key', createdAt: 0, lastUsedAt: 0 } }, secret };
/** Small chunks so a few MiB exercise many chunks, packs and index files. */
export const params = { chunker: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 } };

/** A temporary directory made before each test and removed after it; read `.path` inside a test. */
export function tempDirPerTest(prefix: string): { readonly path: string } {
  const dir = { path: '' };
  beforeEach(async () => {
    dir.path = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    await rm(dir.path, { recursive: true, force: true });
  });
  return dir;
}
