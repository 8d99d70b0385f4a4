/** How a snapshot is shown: as JSON, and in one line for people (sequence number and date always included). */
import type { StoredSnapshot } from '@coffer/engine';
import { formatTime, shortId } from './format.ts';

export interface SnapshotJson {
  readonly id: string;
  readonly shortId: string;
  readonly seq: number;
  readonly time: string;
  readonly host: string;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  readonly prev: string | null;
  readonly tree: string;
  readonly summary: StoredSnapshot['snapshot']['summary'];
}

export function snapshotJson(stored: StoredSnapshot): SnapshotJson {
  const s = stored.snapshot;
  return { id: stored.id, shortId: shortId(stored.id), seq: s.seq, time: s.time, host: s.host, paths: s.paths, tags: s.tags, prev: s.prev, tree: s.tree, summary: s.summary };
}

/** "snapshot 1a2b3c4d (#3 of 2026-01-02 12:00:00, host laptop)". */
export function describeSnapshot(stored: StoredSnapshot): string {
  return `snapshot ${shortId(stored.id)} (#${String(stored.snapshot.seq)} of ${formatTime(stored.snapshot.time)}, host ${stored.snapshot.host})`;
}
