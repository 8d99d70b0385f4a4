/**
 * `npm run bench:30days [-- --scale 1 --days 30 --tools coffer,restic,borg]`: thirty days of a
 * messenger in one go. Day 1 is the benchmark dataset's first day; every later day applies the
 * dataset's next-day mutation again (≈1 % more messages with random keys, ≈30 new media files)
 * with a seed of its own, day 2 with the dataset's seed so it is the benchmark's day 2. Each tool
 * backs up every day into its own repository, the snapshot dated that day, and the table shows
 * each day's upload (repository growth) and the cumulative size beside the least any tool must
 * add (changed SQLite pages + new media that are not copies).
 *
 * Afterwards `coffer forget --keep-daily 7 --prune`, and every kept snapshot is restored and
 * compared byte for byte with that day's tree (database by SHA-256, media file by file).
 * Writes bench/results/days30.md and days30.json. Not part of `npm test`.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchRoot, ensureDataset, linkTree, listFiles, mutateNextDay, pageDiff, parseScale } from './dataset.ts';
import { duBytes, ensureDebianPackage, sync, type Measured } from './proc.ts';
import { type Coffer, TOOL_NAMES, makeState, makeTool, restoredRoot, type Tool, type ToolName } from './tools.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    days: { type: 'string', default: '30' },
    tools: { type: 'string', default: TOOL_NAMES.join(',') },
    seed: { type: 'string', default: '1' },
    'keep-daily': { type: 'string', default: '7' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const scale = parseScale(values.scale);
const days = Number(values.days);
const seed = Number(values.seed);
const keepDaily = Number(values['keep-daily']);
if (!Number.isInteger(days) || days < 2) throw new Error('--days must be an integer ≥ 2');
const toolNames = values.tools.split(',').map((t) => t.trim()) as ToolName[];
for (const t of toolNames) if (!TOOL_NAMES.includes(t)) throw new Error(`unknown tool ${t}: use ${TOOL_NAMES.join(', ')}`);

const MB = 1e6;
const DAY_MS = 86_400_000;
/** Day 1 is the dataset's last day of history; its snapshots are taken at noon UTC. */
const FIRST_DAY = Date.UTC(2025, 5, 1, 12);
const work = join(benchRoot(), 'work-days');
const data = join(work, 'data');
const log = (text: string): void => {
  process.stderr.write(`[days ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
};

interface DayState {
  day: number;
  date: string;
  dbSha256: string;
  dbBytes: number;
  media: string[];
  changedPageBytes: number;
  newUniqueMediaBytes: number;
}

interface ToolDay {
  seconds: number;
  repoBytes: number;
}

/** The seed of day d's mutation: the dataset's own for day 2, distinct ones after. */
function mutationSeed(day: number): number {
  return day === 2 ? seed : seed * 1000 + day;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function describeState(day: number, changedPageBytes: number, newUniqueMediaBytes: number): DayState {
  return {
    day,
    date: new Date(FIRST_DAY + (day - 1) * DAY_MS).toISOString(),
    dbSha256: sha256File(join(data, 'msgstore.db')),
    dbBytes: readFileSync(join(data, 'msgstore.db')).length,
    media: listFiles(join(data, 'media')),
    changedPageBytes,
    newUniqueMediaBytes,
  };
}

/** Restored tree of a kept day against that day's state: database hash, media names and bytes. */
function verify(state: DayState, restored: string): string | null {
  const db = sha256File(join(restored, 'msgstore.db'));
  if (db !== state.dbSha256) return `day ${String(state.day)}: msgstore.db differs (sha256 ${db.slice(0, 12)}, expected ${state.dbSha256.slice(0, 12)})`;
  const media = listFiles(join(restored, 'media'));
  if (media.join('\n') !== state.media.join('\n')) return `day ${String(state.day)}: ${String(media.length)} media files restored, ${String(state.media.length)} expected`;
  // Media never change once written, so today's source files are that day's too.
  for (const f of media) {
    if (Buffer.compare(readFileSync(join(restored, 'media', f)), readFileSync(join(data, 'media', f))) !== 0) return `day ${String(state.day)}: media/${f} differs`;
  }
  return null;
}

function table(states: readonly DayState[], results: ReadonlyMap<ToolName, ToolDay[]>): string[] {
  const names = [...results.keys()];
  const header = ['day', 'date', 'changed pages (MB)', 'new media (MB)', 'minimal (MB)', ...names.flatMap((n) => [`${n} upload (MB)`, `${n} total (MB)`, `${n} backup (s)`])];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const [i, s] of states.entries()) {
    const cells = [String(s.day), s.date.slice(0, 10), (s.changedPageBytes / MB).toFixed(1), (s.newUniqueMediaBytes / MB).toFixed(1), ((s.changedPageBytes + s.newUniqueMediaBytes) / MB).toFixed(1)];
    for (const n of names) {
      const r = results.get(n) ?? [];
      const today = r[i];
      const upload = today === undefined ? NaN : today.repoBytes - (i === 0 ? 0 : (r[i - 1]?.repoBytes ?? NaN));
      cells.push((upload / MB).toFixed(1), ((today?.repoBytes ?? NaN) / MB).toFixed(1), (today?.seconds ?? NaN).toFixed(2));
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  ensureDebianPackage('/usr/bin/time', 'time');
  const tools: Tool[] = [];
  for (const name of toolNames) {
    const tool = makeTool(name);
    const skipped = tool.prepare();
    if (skipped === null) tools.push(tool);
    else log(`${name} skipped: ${skipped}`);
  }
  const dataset = ensureDataset(scale, seed);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  linkTree(dataset.day1, data);
  const repos = new Map<ToolName, string>();
  for (const tool of tools) {
    const state = join(work, `state-${tool.name}`);
    const repo = join(work, `repo-${tool.name}`);
    makeState(state);
    await tool.init(repo, state);
    repos.set(tool.name, repo);
  }
  const results = new Map<ToolName, ToolDay[]>(tools.map((t) => [t.name, []]));
  const states: DayState[] = [];
  const previousDb = join(work, 'previous.db');
  for (let day = 1; day <= days; day++) {
    let changed = dataset.manifest.day1.dbBytes;
    let newMedia = dataset.manifest.day1.mediaBytes;
    if (day > 1) {
      copyFileSync(join(data, 'msgstore.db'), previousDb);
      const started = performance.now();
      const mutation = mutateNextDay(data, mutationSeed(day));
      changed = pageDiff(previousDb, join(data, 'msgstore.db')).changedBytes;
      newMedia = mutation.media.filter((m) => m.forwardOf === null).reduce((n, m) => n + m.size, 0);
      log(`day ${String(day)}: +${String(mutation.messagesAdded)} messages, ${(changed / MB).toFixed(1)} MB of pages changed, +${(newMedia / MB).toFixed(1)} MB media (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    }
    const state = describeState(day, changed, newMedia);
    states.push(state);
    for (const tool of tools) {
      sync();
      const measured: Measured = await tool.backup(data, new Date(state.date));
      const repoBytes = duBytes(repos.get(tool.name) ?? '');
      results.get(tool.name)?.push({ seconds: measured.wallSeconds, repoBytes });
      log(`  ${tool.name}: ${measured.wallSeconds.toFixed(2)} s, repository ${(repoBytes / MB).toFixed(1)} MB`);
    }
  }

  // Forget all but the last `keepDaily` days, prune, and restore every kept snapshot.
  const lifecycle: string[] = [];
  const coffer = tools.find((t): t is Coffer => t.name === 'coffer');
  let verified = 0;
  let kept: { id: string; time: string }[] = [];
  if (coffer) {
    const before = duBytes(repos.get('coffer') ?? '');
    const forget = await coffer.forgetDaily(keepDaily);
    const after = duBytes(repos.get('coffer') ?? '');
    kept = coffer.snapshots();
    lifecycle.push(
      `\`coffer forget --keep-daily ${String(keepDaily)} --prune\`: ${forget.wallSeconds.toFixed(1)} s; ${String(days)} → ${String(kept.length)} snapshots; repository ${(before / MB).toFixed(1)} → ${(after / MB).toFixed(1)} MB.`,
    );
    for (const snapshot of kept) {
      const day = Math.round((Date.parse(snapshot.time) - FIRST_DAY) / DAY_MS) + 1;
      const state = states[day - 1];
      if (!state) throw new Error(`snapshot ${snapshot.id} of ${snapshot.time} is not one of the ${String(days)} days`);
      const target = join(work, 'restore');
      rmSync(target, { recursive: true, force: true });
      mkdirSync(target);
      const measured = await coffer.restoreSnapshot(snapshot.id, target);
      const root = restoredRoot(target, data, 'msgstore.db');
      const problem = root === null ? `day ${String(day)}: no msgstore.db in the restore` : verify(state, root);
      if (problem !== null) throw new Error(`restore of kept snapshot ${snapshot.id.slice(0, 8)} is not byte-identical: ${problem}`);
      verified++;
      lifecycle.push(`- day ${String(day)} (${snapshot.id.slice(0, 8)}): restored in ${measured.wallSeconds.toFixed(1)} s, byte-identical`);
    }
  }

  const totals = (name: ToolName): number => results.get(name)?.at(-1)?.repoBytes ?? NaN;
  const minimal = states.reduce((n, s) => n + s.changedPageBytes + s.newUniqueMediaBytes, 0);
  const later = states.slice(1).reduce((n, s) => n + s.changedPageBytes + s.newUniqueMediaBytes, 0);
  const growth = (name: ToolName): number => totals(name) - (results.get(name)?.[0]?.repoBytes ?? NaN);
  const args = process.argv.slice(2).join(' ');
  const markdown = [
    `# ${String(days)} days of a messenger: repository size per day`,
    '',
    `\`npm run bench:30days${args === '' ? '' : ` -- ${args}`}\` — ${startedAt} to ${new Date().toISOString()}; dataset scale ${String(scale)}, seed ${String(seed)}.`,
    '',
    'Each day after the first applies the benchmark\'s next-day mutation again (≈1 % more messages with random keys, ≈30 new media files), with its own seed. "upload" is the day\'s repository growth (`du -sb`), "total" the repository size after that day\'s backup. "minimal" is what any backup must add: the SQLite pages that differ from the day before plus new media that are not copies (day 1: the whole dataset).',
    '',
    ...table(states, results),
    '',
    `Growth over days 2–${String(days)}, against ${(later / MB).toFixed(1)} MB of changed pages and new media:`,
    '',
    ...[...results.keys()].map((n) => `- ${n}: ${(growth(n) / MB).toFixed(1)} MB (${(growth(n) / later).toFixed(2)}×); repository after day ${String(days)}: ${(totals(n) / MB).toFixed(1)} MB`),
    `- everything any tool must store over the ${String(days)} days: ${(minimal / MB).toFixed(1)} MB`,
    '',
    '## Forget and prune',
    '',
    ...(coffer ? [...lifecycle, '', `${String(verified)} of ${String(kept.length)} kept snapshots restored byte-identical.`] : ['Coffer did not run.']),
    '',
  ].join('\n');
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'days30.md'), markdown);
  writeFileSync(join(out, 'days30.json'), JSON.stringify({ startedAt, scale, seed, days, keepDaily, states, results: Object.fromEntries(results), lifecycle, verified }, null, 2) + '\n');
  process.stdout.write(markdown);
  rmSync(work, { recursive: true, force: true });
}

await main();
