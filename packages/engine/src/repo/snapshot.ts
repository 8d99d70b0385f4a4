/**
 * Snapshot manifests (format.md §9.8): sealed objects of kind "CFSN" under the
 * manifest subkey, holding canonical JSON. Snapshots form a hash chain: each
 * names the id (SHA-256 of the stored bytes) of the one before it, and carries a
 * sequence number one higher. The storage name is
 * `snapshots/<seq, 10 digits>-<id>`; the name is untrusted and is checked
 * against the content on load.
 */
import { LABELS, fail, toHex } from '@coffer/core';
import { type SealedObjectKind, openObject, sealObject } from './sealed-object.ts';

export const SNAPSHOT_OBJECT: SealedObjectKind = { magic: 'CFSN', label: LABELS.snapshotKey, what: 'snapshot' };

export interface SnapshotSummary {
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  readonly addedBytes: number;
  readonly addedBlobs: number;
}

export interface Snapshot {
  readonly version: 1;
  readonly seq: number;
  readonly prev: string | null;
  /** ISO 8601, UTC. */
  readonly time: string;
  readonly host: string;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  readonly tree: string;
  readonly summary: SnapshotSummary;
}

export interface StoredSnapshot {
  readonly id: string;
  readonly name: string;
  readonly snapshot: Snapshot;
}

const HEX_ID = /^[0-9a-f]{64}$/;
const NAME = /^snapshots\/(\d{10})-([0-9a-f]{64})$/;

export function snapshotName(seq: number, id: string): string {
  return `snapshots/${String(seq).padStart(10, '0')}-${id}`;
}

export function parseSnapshotName(name: string): { seq: number; id: string } | undefined {
  const match = NAME.exec(name);
  return match ? { seq: Number(match[1]), id: match[2] ?? '' } : undefined;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', copy)));
}

export async function sealSnapshot(manifestKey: Uint8Array, snapshot: Snapshot): Promise<{ bytes: Uint8Array; id: string; name: string }> {
  const bytes = await sealObject(SNAPSHOT_OBJECT, manifestKey, new TextEncoder().encode(JSON.stringify(snapshot)));
  const id = await sha256Hex(bytes);
  return { bytes, id, name: snapshotName(snapshot.seq, id) };
}

export async function openSnapshot(manifestKey: Uint8Array, name: string, bytes: Uint8Array): Promise<StoredSnapshot> {
  const parsedName = parseSnapshotName(name);
  if (!parsedName) fail('E_FORMAT', `${name} is not a snapshot name`);
  const id = await sha256Hex(bytes);
  if (id !== parsedName.id) fail('E_AUTH_FAILED', `snapshot ${name}: content does not match its name (damaged or swapped)`);
  const payload = await openObject(SNAPSHOT_OBJECT, manifestKey, bytes, name);
  const snapshot = decodeSnapshot(payload, name);
  if (snapshot.seq !== parsedName.seq) fail('E_AUTH_FAILED', `snapshot ${name}: its name claims sequence ${String(parsedName.seq)}, its content ${String(snapshot.seq)}`);
  return { id, name, snapshot };
}

function decodeSnapshot(payload: Uint8Array, where: string): Snapshot {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (cause) {
    return fail('E_FORMAT', `snapshot ${where}: invalid JSON`, cause);
  }
  if (typeof value !== 'object' || value === null) fail('E_FORMAT', `snapshot ${where}: not an object`);
  // Checked field by field as untyped values: the manifest decrypted, but it is still input.
  const s = value as Record<string, unknown>;
  const isHexId = (v: unknown): boolean => typeof v === 'string' && HEX_ID.test(v);
  const isStringArray = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const valid =
    s.version === 1 &&
    typeof s.seq === 'number' && Number.isSafeInteger(s.seq) && s.seq >= 1 &&
    (s.prev === null || isHexId(s.prev)) &&
    (s.seq === 1) === (s.prev === null) &&
    typeof s.time === 'string' && !Number.isNaN(Date.parse(s.time)) &&
    typeof s.host === 'string' &&
    isStringArray(s.paths) &&
    isStringArray(s.tags) &&
    isHexId(s.tree) &&
    typeof s.summary === 'object' && s.summary !== null;
  if (!valid) fail('E_FORMAT', `snapshot ${where}: fields missing or malformed`);
  return s as unknown as Snapshot;
}
