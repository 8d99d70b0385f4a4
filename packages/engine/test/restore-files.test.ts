/**
 * RestoreFiles on its own: many small files written at once (a range of a thumbnail cache holds
 * a thousand) must not all be opened at once, must all arrive whole, and must not wait forever.
 */
import { mkdir, readFile, stat, symlink } from 'node:fs/promises';
import * as fsPromises from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { RestoreFiles, type RestoreTarget } from '../src/node/restore-files.ts';
import { tempDirPerTest } from './fixtures.ts';

/** Handles open right now, and the most at any time, counted around node:fs/promises' open. */
const handles = vi.hoisted(() => ({ open: 0, most: 0 }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof real.open = async (...args) => {
    const handle = await real.open(...args);
    handles.open++;
    handles.most = Math.max(handles.most, handles.open);
    const close = handle.close.bind(handle);
    handle.close = async () => {
      handles.open--;
      await close();
    };
    return handle;
  };
  return { ...real, default: { ...real, open }, open };
});

const dir = tempDirPerTest('coffer-restore-files-');

function targetsIn(root: string, count: number): RestoreTarget[] {
  return Array.from({ length: count }, (_, i) => ({
    path: `/d${String(i % 7)}/f${String(i)}`,
    destination: join(root, `d${String(i % 7)}`, `f${String(i)}`),
    node: { name: `f${String(i)}`, type: 'file', mode: 0o640, mtime: '1700000000123456000', size: 10 + (i % 50) },
  }));
}

function contentOf(i: number, size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, j) => (i * 31 + j) & 0xff);
}

describe('RestoreFiles', () => {
  test('500 small files written at once: at most 64 open at a time, each whole, with its mode and time', async () => {
    const root = dir.path;
    for (let d = 0; d < 7; d++) await mkdir(join(root, `d${String(d)}`));
    const targets = targetsIn(root, 500);
    let done = 0;
    const files = new RestoreFiles(root, targets, () => {
      done++;
    });
    handles.most = 0;
    // Each file in two writes, the second half first, as blobs may arrive.
    await Promise.all(
      targets.flatMap((t, i) => {
        const bytes = contentOf(i, t.node.size ?? 0);
        const half = bytes.length >> 1;
        return [files.write(i, bytes.subarray(half), half), files.write(i, bytes.subarray(0, half), 0)];
      }),
    );
    expect(await files.close()).toEqual([]);
    expect(done).toBe(500);
    expect(handles.most).toBeGreaterThan(0);
    expect(handles.most).toBeLessThanOrEqual(64);
    expect(handles.open).toBe(0);
    for (const [i, t] of targets.entries()) {
      expect(Buffer.compare(await readFile(t.destination), contentOf(i, t.node.size ?? 0))).toBe(0);
    }
    const info = await stat(targets[3]?.destination ?? '', { bigint: true });
    expect(info.mode & 0o7777n).toBe(0o640n);
    // To the microsecond: utimes takes a double (see nsToSeconds).
    expect(info.mtimeNs / 1000n).toBe(1700000000123456n);
  });

  test('a directory replaced by a symlink is refused once for all its files, and nothing is written through it', async () => {
    const root = dir.path;
    await mkdir(join(root, 'elsewhere'));
    await symlink(join(root, 'elsewhere'), join(root, 'd0'));
    const targets = targetsIn(root, 70).filter((t) => t.path.startsWith('/d0/'));
    const files = new RestoreFiles(root, targets, () => undefined);
    await Promise.all(targets.map((t, i) => files.write(i, contentOf(i, t.node.size ?? 0), 0)));
    const failures = await files.close();
    expect(failures).toHaveLength(targets.length);
    for (const f of failures) expect(f.message).toContain('is a symbolic link; refusing to restore through it');
    expect(await fsPromises.readdir(join(root, 'elsewhere'))).toEqual([]);
  });
});
