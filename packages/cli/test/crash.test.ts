/**
 * Crash safety (security-test-plan §5-G, "client killed mid-backup"): the real
 * `coffer` is killed with SIGKILL at seeded random moments while it runs
 * `backup` or `prune` on a local-directory repository. After every kill:
 *
 *   1. the newest snapshot (for prune: every kept snapshot) restores, and the
 *      restored tree equals the data of that snapshot byte for byte;
 *   2. `check --read-data` finds no problem (packs no index lists, left by the
 *      killed run, are notes, not problems);
 *   3. the killed command, run again, completes: the lock the dead process
 *      left behind blocks neither it nor, after a backup, an exclusive command;
 *   4. the re-run's snapshot restores too; after a prune re-run check is clean
 *      (not even a note), and `unlock` finds only dead processes' locks.
 *
 * The commands killed and re-run are child processes (`node bin/coffer.js`);
 * the checks in between run the same CLI code in this process, which saves a
 * Node start-up each. COFFER_CRASH_ITERATIONS (default 20: 12 backup kills, 8
 * prune kills) and COFFER_CRASH_SEED choose how many and which moments;
 * `npm run test:crash` runs 200.
 *
 * Data: the command line has no pack-size option (packs are 16 MiB), so every
 * fourth backup adds 18 MiB of fresh incompressible data: one full pack is
 * durable, unindexed, while the run goes on, and a second one and a tree pack
 * come at its end. The other backups add 3 MiB (one data pack and one tree
 * pack each), which keeps the default suite short on a busy 2-core machine.
 *
 * Moments: every child run is timed in segments between observable events:
 * start → its lock appears in locks/ → backup: its first pack appears in
 * data/ → its snapshot appears in snapshots/ → exit; prune: "… snapshots
 * reference …" on stderr (trees read) → "wrote index …" (the new index is
 * durable, deleting starts) → exit. A kill is planned as "a fraction of
 * segment S after S began", the segment's length taken from the last complete
 * run of the same kind; fractions are stratified over [0, 1) per segment
 * ([0, 1.1) for the last, so some kills land in the last milliseconds and a
 * few runs finish first). So kills hit start-up, chunking, pack uploads, the
 * index and snapshot writes, prune's repacking and its deletions, rather than
 * mostly Node's start-up. (The storage's fan-out directories data/00…ff are
 * made up front so that they can be watched.)
 *
 * COFFER_CRASH_TRACE=1 prints every step's duration and every child run's
 * event times; COFFER_CRASH_KEEP=1 keeps the work directory after a failure.
 */
import { type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { appendFile, lstat, mkdir, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Env, type Result, baseEnv, collect, runInProcess, spawnCoffer, tempDir } from './helpers.ts';

const ITERATIONS = positiveInteger('COFFER_CRASH_ITERATIONS', 20);
const SEED = positiveInteger('COFFER_CRASH_SEED', 20_261_122);
const MEDIA = ['clip-a.bin', 'clip-b.bin', 'clip-c.bin'];
/** Bytes per media file: a big generation adds 18 MiB (more than one 16 MiB pack), a small one 3 MiB. */
const MEDIA_BYTES = { big: 6 * 1024 * 1024, small: 1024 * 1024 };
type Size = keyof typeof MEDIA_BYTES;

/**
 * The events of a run, in order; a kill is planned within the segment that
 * starts at one of them. lock, pack, snapshot: such an object appeared in the
 * repository (the first of its kind in the run); the others are lines prune
 * prints on stderr.
 */
const EVENTS = { backup: ['start', 'lock', 'pack', 'snapshot', 'exit'], prune: ['start', 'lock', 'snapshots reference', 'wrote index', 'exit'] } as const;
const WATCHED = { locks: 'lock', snapshots: 'snapshot', data: 'pack' } as const;
/** The prune lines that mark its events: "N snapshots reference M blobs" (or "1 snapshot references"), "wrote index". */
const MARKERS = [
  ['snapshots reference', /snapshots? references? /],
  ['wrote index', /wrote index/],
] as const;
type Command = keyof typeof EVENTS;
type Event = (typeof EVENTS)[Command][number];

function positiveInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, not "${text}"`);
  return value;
}

/** mulberry32: small, seeded, good enough to pick moments. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Plan {
  readonly command: Command;
  /** For a backup: how much new data it backs up. */
  readonly size: Size;
  /** Kill `fraction` of the segment starting at `after` into it. */
  readonly after: Event;
  readonly fraction: number;
}

/** `n` fractions, one in each of n equal strata of [0, span), in random order. */
function stratified(n: number, span: number, random: () => number): number[] {
  const out = Array.from({ length: n }, (_, i) => ((i + random()) / n) * span);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] ?? 0, out[i] ?? 0];
  }
  return out;
}

/**
 * Three backups to two prunes (12 and 8 of 20), interleaved so that prunes keep
 * the repository small. Backup kills fall in start-up (1 in 6), while it
 * chunks (after the lock, 2 in 6), while it writes (after the first pack, 2 in
 * 6) and after its snapshot (1 in 6); prune kills cycle through reading,
 * repacking and writing the index, and deleting.
 */
function schedule(iterations: number, seed: number): Plan[] {
  const random = prng(seed);
  const commands = Array.from({ length: iterations }, (_, i) => (['backup', 'backup', 'prune', 'backup', 'prune'] as const)[i % 5] ?? 'backup');
  let b = 0;
  let p = 0;
  const chosen = commands.map((command): { command: Command; size: Size; after: Event } => {
    if (command === 'backup') return { command, size: b % 4 === 0 ? 'big' : 'small', after: (['lock', 'pack', 'start', 'lock', 'pack', 'snapshot'] as const)[b++ % 6] ?? 'lock' };
    return { command, size: 'small', after: (['lock', 'snapshots reference', 'wrote index'] as const)[p++ % 3] ?? 'lock' };
  });
  // Stratified per segment; the last segment of a run (its next event is the exit) reaches 10% past its end.
  const fractions = new Map<string, number[]>();
  for (const c of chosen) {
    const key = `${c.command} ${c.after}`;
    if (fractions.has(key)) continue;
    const order: readonly Event[] = EVENTS[c.command];
    const last = order[order.indexOf(c.after) + 1] === 'exit';
    fractions.set(key, stratified(chosen.filter((o) => `${o.command} ${o.after}` === key).length, last ? 1.1 : 1, random));
  }
  return chosen.map((c) => ({ ...c, fraction: fractions.get(`${c.command} ${c.after}`)?.pop() ?? 0 }));
}

const PLANS = schedule(ITERATIONS, SEED);

/** Seeded incompressible bytes (AES-CTR keystream), fast enough for megabytes. */
function noise(label: string, length: number): Buffer {
  const key = createHash('sha256').update(`${String(SEED)}:${label}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/** What a snapshot must restore to: per path its type, mode, size and content hash or link target; and mtimes. */
interface Manifest {
  readonly entries: Map<string, string>;
  readonly mtimes: Map<string, bigint>;
}

async function manifestOf(root: string): Promise<Manifest> {
  const entries = new Map<string, string>();
  const mtimes = new Map<string, bigint>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const key = relative(root, path);
      const info = await lstat(path, { bigint: true });
      const mode = (info.mode & 0o7777n).toString(8);
      if (info.isSymbolicLink()) {
        entries.set(key, `symlink ${mode} -> ${await readlink(path)}`);
        continue;
      }
      mtimes.set(key, info.mtimeNs);
      if (info.isDirectory()) {
        entries.set(key, `dir ${mode}`);
        await walk(path);
      } else {
        entries.set(key, `file ${mode} ${String(info.size)} ${createHash('sha256').update(await readFile(path)).digest('hex')}`);
      }
    }
  };
  await walk(root);
  return { entries, mtimes };
}

function expectSameManifest(actual: Manifest, expected: Manifest, what: string): void {
  expect(actual.entries, what).toEqual(expected.entries);
  for (const [path, mtime] of expected.mtimes) {
    // Restored to the microsecond; utimes() takes seconds as a double, which can land one microsecond early.
    const drift = (actual.mtimes.get(path) ?? 0n) - mtime;
    expect(drift > -2000n && drift < 2000n, `${what}: mtime of ${path} is off by ${String(drift)} ns`).toBe(true);
  }
}

/** Every file of the repository: its objects, and the temporary files (`.name.~tmp-…`) writes pass through. */
async function files(repo: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const entry of await readdir(repo, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.add(relative(repo, join(entry.parentPath, entry.name)));
  }
  return out;
}

const isTemporary = (name: string): boolean => /(^|\/)\.[^/]*\.~tmp-[0-9a-f]+$/.test(name);

/** Objects (or, with `temporary`, temporary files) under `prefix` in `after` but not in `before`. */
function added(before: Set<string>, after: Set<string>, prefix: string, temporary = false): string[] {
  return [...after].filter((name) => name.startsWith(prefix) && !before.has(name) && isTemporary(name) === temporary);
}

function removed(before: Set<string>, after: Set<string>, prefix: string): string[] {
  return [...before].filter((name) => name.startsWith(prefix) && !after.has(name) && !isTemporary(name));
}

interface SnapshotDoc {
  readonly id: string;
  readonly seq: number;
}

interface Tally {
  kills: number;
  finishedFirst: number;
  restores: number;
  reruns: number;
  readonly phases: Map<string, number>;
}

const tally = (): Tally => ({ kills: 0, finishedFirst: 0, restores: 0, reruns: 0, phases: new Map() });
const stats = { backup: tally(), prune: tally(), notes: 0, staleLocksRemoved: 0 };

let work: { path: string; remove: () => Promise<void> };
let env: Env;
let repo: string;
let source: string;
let generation = 0;
let current: Manifest;
/** The snapshots as last listed, and the manifest of every snapshot ever written, by id. */
let known: SnapshotDoc[] = [];
const manifests = new Map<string, Manifest>();
const killedPids = new Set<number>();
/** Per command (and backup size): when each event came in the last complete run, in ms after the start. */
const timings = new Map<string, Map<Event, number>>();
/** Watchers of the repository's directories, and the run they report to. */
const watchers: FSWatcher[] = [];
let observe: ((event: Event) => void) | undefined;
let restoreCount = 0;
let failed = false;
const started = performance.now();

/** The next generation of the data: the media files rewritten (18 or 3 MiB new), a chat file appended, one added, one removed. */
async function mutate(size: Size): Promise<void> {
  generation++;
  for (const name of MEDIA) await writeFile(join(source, 'media', name), noise(`${name}@${String(generation)}`, MEDIA_BYTES[size]));
  await appendFile(join(source, 'chat', 'messages.txt'), `generation ${String(generation)}: hello again\n`.repeat(500));
  await writeFile(join(source, 'chat', `day-${String(generation)}.txt`), `day ${String(generation)}\n`.repeat(100));
  await rm(join(source, 'chat', `day-${String(generation - 3)}.txt`), { force: true });
  current = await manifestOf(source);
}

/** COFFER_CRASH_TRACE=1: how long each step took, to see where the time goes. */
function trace(what: string, since: number): void {
  if (process.env.COFFER_CRASH_TRACE === '1') console.log(`[crash] ${(performance.now() - since).toFixed(0).padStart(6)} ms  ${what}`);
}

async function inProcess(args: readonly string[]): Promise<Result> {
  const t0 = performance.now();
  const result = await runInProcess(args, env);
  trace(args.filter((a) => !a.startsWith('/')).join(' '), t0);
  return result;
}

async function json<T>(args: readonly string[]): Promise<T> {
  const result = await inProcess(['--json', ...args]);
  expect(result.code, `coffer ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/** Lists the snapshots; those not seen before hold the data now in the source. */
async function snapshots(): Promise<SnapshotDoc[]> {
  known = (await json<{ snapshots: SnapshotDoc[] }>(['snapshots'])).snapshots;
  for (const s of known) if (!manifests.has(s.id)) manifests.set(s.id, current);
  return known;
}

async function expectRestores(reference: string, id: string, counter: Tally): Promise<void> {
  const expected = manifests.get(id);
  if (!expected) throw new Error(`no manifest for snapshot ${id}`);
  const target = join(work.path, `restore-${String(++restoreCount)}`);
  const result = await inProcess(['--json', 'restore', reference, '--target', target]);
  expect(result.code, `restore ${reference}: ${result.stdout}${result.stderr}`).toBe(0);
  expect((JSON.parse(result.stdout) as { snapshot: SnapshotDoc }).snapshot.id).toBe(id);
  expectSameManifest(await manifestOf(join(target, 'src')), expected, `snapshot ${id.slice(0, 8)} restored from "${reference}"`);
  await rm(target, { recursive: true, force: true });
  counter.restores++;
}

/** `check --read-data` finds no problem; returns its notes (unreferenced packs). */
async function expectCheckPasses(): Promise<string[]> {
  const result = await inProcess(['--json', 'check', '--read-data']);
  const doc = JSON.parse(result.stdout) as { problems: { object: string; message: string }[]; notes: { object: string; message: string }[] };
  expect(doc.problems, 'check --read-data found problems').toEqual([]);
  expect(result.code, result.stderr).toBe(0);
  for (const note of doc.notes) expect(note.message).toMatch(/^pack not referenced by any index/);
  return doc.notes.map((n) => n.object);
}

interface ChildRun {
  readonly result: Result;
  readonly killed: boolean;
  readonly pid: number | undefined;
  readonly events: Map<Event, number>;
}

/**
 * Runs `coffer args` as a child process, noting when each event of `command`
 * happens; with a plan, SIGKILLs it that far into the planned segment.
 */
async function runChild(command: Command, args: readonly string[], timingKey: string, plan?: Plan): Promise<ChildRun> {
  const order: readonly Event[] = EVENTS[command];
  const events = new Map<Event, number>();
  const t0 = performance.now();
  const child: ChildProcess = spawnCoffer(args, env);
  const done = collect(child);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const happened = (event: Event): void => {
    if (events.has(event) || !order.includes(event)) return;
    events.set(event, performance.now() - t0);
    if (plan?.after !== event) return;
    const last = timings.get(timingKey);
    const next = order[order.indexOf(event) + 1] ?? 'exit';
    const length = Math.max(0, (last?.get(next) ?? 0) - (last?.get(event) ?? 0));
    timer = setTimeout(kill, plan.fraction * length);
  };
  happened('start');
  observe = happened;
  let stderr = '';
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
    for (const [event, pattern] of MARKERS) if (pattern.test(stderr)) happened(event);
  });
  const result = await done;
  observe = undefined;
  clearTimeout(timer);
  events.set('exit', performance.now() - t0);
  trace(`child ${args[0] ?? ''}${plan ? ` (${result.signal ?? 'exited'})` : ''} ${[...events].map(([e, ms]) => `${e}@${ms.toFixed(0)}`).join(' ')}`, t0);
  const killed = result.signal === 'SIGKILL';
  if (killed && child.pid !== undefined) killedPids.add(child.pid);
  if (!killed) {
    expect(result.code, `coffer ${args.join(' ')}: ${result.stderr}`).toBe(0);
    if (order.every((event) => events.has(event))) timings.set(timingKey, events);
  }
  return { result, killed, pid: child.pid, events };
}

function phase(counter: Tally, name: string): void {
  counter.phases.set(name, (counter.phases.get(name) ?? 0) + 1);
}

beforeAll(async () => {
  work = await tempDir('coffer-cli-crash-');
  repo = join(work.path, 'repo');
  source = join(work.path, 'src');
  env = baseEnv({ COFFER_REPOSITORY: repo, COFFER_STATE_DIR: join(work.path, 'state'), COFFER_RECOVERY_KEY_FILE: join(work.path, 'recovery-key.txt') });
  await mkdir(join(source, 'static'), { recursive: true });
  await mkdir(join(source, 'media'));
  await mkdir(join(source, 'chat'));
  await mkdir(join(source, 'empty'));
  await writeFile(join(source, 'static', 'photo-1.jpg'), noise('photo-1', 600_000));
  await writeFile(join(source, 'static', 'photo-2.jpg'), noise('photo-2', 400_000));
  await writeFile(join(source, 'chat', 'secret.key'), 'private', { mode: 0o600 });
  await symlink('media/clip-a.bin', join(source, 'latest-clip'));
  const init = await collect(spawnCoffer(['init', '--write-recovery-key', join(work.path, 'recovery-key.txt')], env));
  expect(init.code, init.stderr).toBe(0);
  // The directories objects go into, made now so they can be watched (the storage makes them as needed, and leaves them).
  const fanOut = Array.from({ length: 256 }, (_, i) => `data/${i.toString(16).padStart(2, '0')}`);
  for (const dir of ['locks', 'snapshots', ...fanOut]) {
    await mkdir(join(repo, dir), { recursive: true });
    const event = WATCHED[dir.split('/')[0] as keyof typeof WATCHED];
    // An object's name appearing (not a temporary file's: `.name.~tmp-…`).
    watchers.push(watch(join(repo, dir), (_, name) => {
      if (typeof name === 'string' && !name.startsWith('.')) observe?.(event);
    }));
  }
  // Three backups and a prune that has work to do: the first snapshots, and how long each kind of run takes.
  for (const size of ['big', 'small', 'small'] as const) {
    await mutate(size);
    await runChild('backup', ['backup', source], `backup ${size}`);
    await snapshots();
  }
  expect((await inProcess(['forget', '--keep-last', '2'])).code).toBe(0);
  await runChild('prune', ['prune'], 'prune');
  await snapshots();
}, 300_000);

afterAll(async () => {
  for (const watcher of watchers) watcher.close();
  if (failed && process.env.COFFER_CRASH_KEEP === '1') console.log(`[crash] keeping ${work.path} for inspection`);
  else await work.remove();
});

async function backupIteration(plan: Plan): Promise<void> {
  const t = stats.backup;
  const previousList = known;
  const previous = previousList.at(-1);
  if (!previous) throw new Error('no snapshot to fall back on');
  await mutate(plan.size);
  const before = await files(repo);

  const { killed, pid } = await runChild('backup', ['backup', source], `backup ${plan.size}`, plan);
  const after = await files(repo);
  const lockLeft = added(before, after, 'locks/').length;
  const packs = added(before, after, 'data/').length;
  const indexes = added(before, after, 'index/').length;
  const newSnapshots = added(before, after, 'snapshots/').length;
  expect(removed(before, after, ''), 'a killed backup removed objects').toEqual([]);
  expect(lockLeft, 'locks left by one killed process').toBeLessThanOrEqual(1);
  if (killed) {
    t.kills++;
    const writing = ['data/', 'index/', 'snapshots/'].filter((prefix) => added(before, after, prefix, true).length > 0).map((prefix) => prefix.slice(0, -1));
    const state = newSnapshots > 0 ? 'snapshot written' : indexes > 0 ? 'index written' : packs > 0 ? `${String(packs)} pack${packs === 1 ? '' : 's'} written` : lockLeft > 0 ? 'locked' : 'starting';
    phase(t, writing.length > 0 ? `${state}, writing ${writing.join('+')}` : state);
  } else {
    t.finishedFirst++;
    phase(t, 'finished first');
  }

  // 1. The newest snapshot restores: the previous one, or the killed run's if it got that far.
  const list = await snapshots();
  expect(list.slice(0, previousList.length)).toEqual(previousList);
  expect(list.length - previousList.length).toBe(newSnapshots);
  const latest = list.at(-1) ?? previous;
  expect(latest.id === previous.id || newSnapshots === 1, `pid ${String(pid)}`).toBe(true);
  await expectRestores('latest', latest.id, t);

  // 2. check --read-data: no problem; the killed run's unindexed packs are notes.
  const notes = await expectCheckPasses();
  stats.notes += notes.length;
  if (killed && indexes === 0) for (const pack of added(before, after, 'data/')) expect(notes).toContain(pack);

  // 3. The dead backup's lock blocks neither an exclusive command nor the re-run.
  expect((await inProcess(['forget', '--keep-last', '1000', '--dry-run'])).code, 'an exclusive lock after a killed backup').toBe(0);
  await runChild('backup', ['backup', source], `backup ${plan.size}`);
  t.reruns++;

  // 4. The re-run's snapshot is the next in the chain and restores the current data.
  const final = await snapshots();
  expect(final).toHaveLength(list.length + 1);
  const written = final.at(-1);
  expect(written?.seq).toBe(latest.seq + 1);
  await expectRestores('latest', written?.id ?? '', t);
}

async function pruneIteration(plan: Plan): Promise<void> {
  const t = stats.prune;
  // Something to prune: a new snapshot, then all but the newest two forgotten (their data, and the packs killed backups left, are garbage).
  await mutate(plan.size);
  expect((await inProcess(['backup', source])).code).toBe(0);
  await snapshots();
  const forget = await json<{ keep: SnapshotDoc[]; remove: SnapshotDoc[] }>(['forget', '--keep-last', '2']);
  const kept = [...forget.keep].sort((a, b) => a.seq - b.seq);
  expect(kept).toHaveLength(2);
  expect(forget.remove.length).toBeGreaterThan(0);
  const before = await files(repo);

  const { killed } = await runChild('prune', ['prune'], 'prune', plan);
  const after = await files(repo);
  const lockLeft = added(before, after, 'locks/').length;
  const newPacks = added(before, after, 'data/').length;
  const newIndex = added(before, after, 'index/').length;
  const deleted = removed(before, after, 'data/').length + removed(before, after, 'index/').length;
  expect(removed(before, after, 'snapshots/'), 'prune removed a snapshot').toEqual([]);
  expect(lockLeft, 'locks left by one killed process').toBeLessThanOrEqual(1);
  if (killed) {
    t.kills++;
    const writing = ['data/', 'index/'].filter((prefix) => added(before, after, prefix, true).length > 0).map((prefix) => prefix.slice(0, -1));
    const state = deleted > 0 ? (lockLeft > 0 ? 'deleting' : 'done, not exited') : newIndex > 0 ? 'index written' : newPacks > 0 ? 'repacked' : lockLeft > 0 ? 'locked' : 'starting';
    phase(t, writing.length > 0 ? `${state}, writing ${writing.join('+')}` : state);
  } else {
    t.finishedFirst++;
    phase(t, 'finished first');
  }

  // 1–2. Every kept snapshot restores (the dead prune's exclusive lock is stale, so restore takes its shared one), and check passes.
  expect((await snapshots()).map((s) => s.id)).toEqual(kept.map((s) => s.id));
  for (const s of kept) await expectRestores(s.id, s.id, t);
  stats.notes += (await expectCheckPasses()).length;

  // 3. The re-run completes; 4. afterwards check is clean, not even a note, and the newest snapshot restores.
  await runChild('prune', ['prune'], 'prune');
  t.reruns++;
  expect(await expectCheckPasses(), 'packs left after a completed prune').toEqual([]);
  await expectRestores('latest', kept.at(-1)?.id ?? '', t);

  // The locks left now are dead processes' only: unlock removes them all and keeps none.
  const locks = [...(await files(repo))].filter((name) => name.startsWith('locks/') && !isTemporary(name));
  const unlock = await json<{ removed: { pid: number | null }[]; kept: number }>(['unlock']);
  expect(unlock.kept).toBe(0);
  expect(unlock.removed).toHaveLength(locks.length);
  for (const lock of unlock.removed) expect(killedPids.has(lock.pid ?? -1), `lock of pid ${String(lock.pid)}`).toBe(true);
  stats.staleLocksRemoved += unlock.removed.length;
}

describe(`crash safety: SIGKILL during backup and prune (${String(ITERATIONS)} iterations, seed ${String(SEED)})`, () => {
  for (const [i, plan] of PLANS.entries()) {
    const what = plan.command === 'backup' ? `a ${plan.size} backup` : 'prune';
    test(`#${String(i + 1)}: kill ${what} ${(plan.fraction * 100).toFixed(0)}% into its segment after "${plan.after}"`, { timeout: 300_000 }, async (context) => {
      if (failed) context.skip();
      try {
        await (plan.command === 'backup' ? backupIteration(plan) : pruneIteration(plan));
      } catch (error) {
        failed = true;
        throw error;
      }
    });
  }

  test('summary', async (context) => {
    if (failed) context.skip();
    // Temporary files the killed runs left: the storage's (list removes them once an hour old) and the rollback memory's.
    const repoTemps = [...(await files(repo))].filter(isTemporary).length;
    const stateTemps = (await readdir(join(work.path, 'state'))).filter((name) => name.endsWith('.tmp')).length;
    const line = (name: string, t: Tally): string => `${name}: ${String(t.kills)} kills, ${String(t.restores)} restores verified, ${String(t.reruns)} re-runs completed`;
    const phases = (t: Tally): string => [...t.phases].map(([name, n]) => `${name} ${String(n)}`).join(', ');
    console.log(
      [
        `[crash] ${line('backup', stats.backup)}; ${line('prune', stats.prune)}`,
        `[crash] seed ${String(SEED)}, ${String(ITERATIONS)} iterations in ${((performance.now() - started) / 1000).toFixed(1)} s; ${String(stats.notes)} unreferenced-pack notes from check, ${String(stats.staleLocksRemoved)} dead processes' locks removed by unlock`,
        `[crash] backup killed: ${phases(stats.backup)}`,
        `[crash] prune killed: ${phases(stats.prune)}`,
        `[crash] temporary files left by killed runs: ${String(repoTemps)} in the repository, ${String(stateTemps)} in the state directory`,
      ].join('\n'),
    );
    const planned = { backup: PLANS.filter((p) => p.command === 'backup').length, prune: PLANS.filter((p) => p.command === 'prune').length };
    expect(stats.backup.kills + stats.backup.finishedFirst).toBe(planned.backup);
    expect(stats.prune.kills + stats.prune.finishedFirst).toBe(planned.prune);
    // Most runs must really be killed, or the test proves little (a few finish first: the moments reach past a run's end).
    expect(stats.backup.kills).toBeGreaterThanOrEqual(Math.floor(planned.backup / 2));
    expect(stats.prune.kills).toBeGreaterThanOrEqual(Math.floor(planned.prune / 2));
  });
});
