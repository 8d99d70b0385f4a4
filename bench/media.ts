/**
 * Media files of a chat backup: JPEG-, MP4- and Opus-like files with realistic size mixes, and
 * forwards (exact duplicates under another name), which is what makes dedup across files matter.
 *
 * Bytes come from an AES-128-CTR keystream with a seeded key: deterministic, incompressible like
 * real compressed media, and several GB/s with AES-NI, so a 1 GB media folder takes seconds.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, copyFileSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Rng } from './prng.ts';

export type MediaKind = 'image' | 'video' | 'voice';

export interface MediaFile {
  /** Path relative to the dataset root, with '/' separators. */
  path: string;
  kind: MediaKind;
  size: number;
  /** Unix milliseconds of the message that carries it. */
  time: number;
  /** Path of the original when this file is a forward (same bytes), else null. */
  forwardOf: string | null;
}

const KB = 1000;
const MB = 1000 * 1000;

/** Unique files by count: images are most files, videos most bytes (as in real media folders). */
function drawKind(rng: Rng): MediaKind {
  const u = rng.float();
  return u < 0.72 ? 'image' : u < 0.92 ? 'voice' : 'video';
}

function drawSize(rng: Rng, kind: MediaKind): number {
  const clamp = (v: number, lo: number, hi: number): number => Math.round(Math.min(hi, Math.max(lo, v)));
  switch (kind) {
    case 'image': // messenger-recompressed JPEGs
      return clamp(rng.logNormal(170 * KB, 0.55), 50 * KB, 500 * KB);
    case 'voice': // Opus at ~16 kbit/s, median ~20 s
      return clamp(rng.logNormal(40 * KB, 0.7), 10 * KB, 200 * KB);
    case 'video': // short clips, re-encoded by the messenger
      return clamp(rng.logNormal(4 * MB, 0.8), 1 * MB, 20 * MB);
  }
}

const LAYOUT: Record<MediaKind, { dir: string; prefix: string; ext: string }> = {
  image: { dir: 'Images', prefix: 'IMG', ext: 'jpg' },
  video: { dir: 'Video', prefix: 'VID', ext: 'mp4' },
  voice: { dir: 'Voice Notes', prefix: 'PTT', ext: 'opus' },
};

/** Container magic first, so `file` and any type sniffing in a tool see what they would in the wild. */
const MAGIC: Record<MediaKind, Uint8Array> = {
  image: Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00]),
  video: Uint8Array.from([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0]),
  voice: Uint8Array.from([0x4f, 0x67, 0x67, 0x53, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]),
};

function stamp(time: number): { month: string; day: string } {
  const iso = new Date(time).toISOString();
  return { month: iso.slice(0, 7), day: iso.slice(0, 10).replaceAll('-', '') };
}

/** Names like `media/Images/2024-03/IMG-20240312-00017.jpg`; the counter keeps names unique. */
function mediaPath(kind: MediaKind, time: number, counter: number): string {
  const { dir, prefix, ext } = LAYOUT[kind];
  const { month, day } = stamp(time);
  return `media/${dir}/${month}/${prefix}-${day}-${String(counter).padStart(5, '0')}.${ext}`;
}

/**
 * Plans media up to `targetBytes` (duplicates included) with times in [start, end).
 * `forwardShare` of the files are forwards of an earlier file (of `earlier` or of this plan).
 * Nothing is written yet.
 */
export function planMedia(rng: Rng, opts: { targetBytes: number; maxFiles: number; start: number; end: number; forwardShare: number; counterBase: number; earlier: readonly MediaFile[] }): MediaFile[] {
  interface Draft { kind: MediaKind; size: number; time: number; original: Draft | MediaFile | null; path: string }
  const originals: (Draft | MediaFile)[] = opts.earlier.filter((f) => f.forwardOf === null);
  const drafts: Draft[] = [];
  let total = 0;
  while (total < opts.targetBytes && drafts.length < opts.maxFiles) {
    let draft: Draft;
    if (originals.length > 0 && rng.chance(opts.forwardShare)) {
      const original = rng.pick(originals);
      // A forward arrives after its original.
      const from = Math.max(opts.start, original.time);
      draft = { kind: original.kind, size: original.size, time: from + rng.float() * (opts.end - from), original, path: '' };
    } else {
      const kind = drawKind(rng);
      draft = { kind, size: drawSize(rng, kind), time: opts.start + rng.float() * (opts.end - opts.start), original: null, path: '' };
      originals.push(draft);
    }
    drafts.push(draft);
    total += draft.size;
  }
  // Number files in time order, as a messenger does when it saves them.
  drafts.sort((a, b) => a.time - b.time);
  let counter = opts.counterBase;
  for (const d of drafts) d.path = mediaPath(d.kind, d.time, counter++);
  return drafts.map((d) => ({ path: d.path, kind: d.kind, size: d.size, time: Math.floor(d.time), forwardOf: d.original?.path ?? null }));
}

/** Writes the planned files under `root`; forwards are byte copies of their originals. */
export function writeMedia(root: string, files: readonly MediaFile[], seed: number): void {
  const key = createHash('sha256').update(`coffer-bench media ${String(seed)}`).digest().subarray(0, 16);
  const zeros = new Uint8Array(1 << 20);
  const made = new Set<string>();
  // Originals first, so a forward never comes before its original (equal times would allow it).
  const ordered = [...files.filter((f) => f.forwardOf === null), ...files.filter((f) => f.forwardOf !== null)];
  for (const file of ordered) {
    const target = join(root, file.path);
    if (!made.has(dirname(target))) {
      mkdirSync(dirname(target), { recursive: true });
      made.add(dirname(target));
    }
    if (file.forwardOf !== null) {
      copyFileSync(join(root, file.forwardOf), target);
      continue;
    }
    // The IV is derived from the path, so each original has its own stream whatever the order.
    const iv = createHash('sha256').update(file.path).digest().subarray(0, 16);
    const cipher = createCipheriv('aes-128-ctr', key, iv);
    const fd = openSync(target, 'w');
    try {
      const magic = MAGIC[file.kind];
      writeSync(fd, magic);
      let left = file.size - magic.length;
      while (left > 0) {
        const n = Math.min(left, zeros.length);
        writeSync(fd, cipher.update(zeros.subarray(0, n)));
        left -= n;
      }
    } finally {
      closeSync(fd);
    }
  }
}
