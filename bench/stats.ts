/**
 * What the benchmark reports, computed from the raw samples: one median per metric and tool over
 * the runs, ratios of Coffer to each peer, and the acceptance targets.
 */
import type { Measured } from './proc.ts';
import type { ToolName } from './tools.ts';

/** One run of one tool through all scenarios. */
export interface Sample {
  first: Measured;
  rerun: Measured;
  nextDay: Measured;
  restore: Measured;
  repoDay1Bytes: number;
  repoDay2Bytes: number;
}

/** One first backup and restore at another scale, for peak memory against dataset size. */
export interface ScaleCheck {
  scale: number;
  datasetBytes: number;
  backup: Measured;
  restore: Measured;
}

export interface ToolResult {
  name: ToolName;
  version: string;
  skipped: string | null;
  samples: Sample[];
  scaleChecks: ScaleCheck[];
}

export interface Context {
  day1Bytes: number;
  day2Bytes: number;
  minimalGrowthBytes: number;
}

export interface Metric {
  key: string;
  label: string;
  unit: string;
  better: 'lower' | 'higher';
  value(s: Sample, c: Context): number;
}

const MB = 1e6;
const MiB = 1024 * 1024;

export const METRICS: readonly Metric[] = [
  { key: 'firstSeconds', label: 'first backup: time', unit: 's', better: 'lower', value: (s) => s.first.wallSeconds },
  { key: 'firstMBps', label: 'first backup: throughput', unit: 'MB/s', better: 'higher', value: (s, c) => c.day1Bytes / MB / s.first.wallSeconds },
  { key: 'firstCpu', label: 'first backup: CPU time', unit: 's', better: 'lower', value: (s) => s.first.cpuSeconds },
  { key: 'firstRss', label: 'first backup: peak RSS', unit: 'MiB', better: 'lower', value: (s) => s.first.maxRssBytes / MiB },
  { key: 'rerunSeconds', label: 'unchanged re-run: time', unit: 's', better: 'lower', value: (s) => s.rerun.wallSeconds },
  { key: 'rerunRss', label: 'unchanged re-run: peak RSS', unit: 'MiB', better: 'lower', value: (s) => s.rerun.maxRssBytes / MiB },
  { key: 'nextDaySeconds', label: 'next-day incremental: time', unit: 's', better: 'lower', value: (s) => s.nextDay.wallSeconds },
  { key: 'nextDayCpu', label: 'next-day incremental: CPU time', unit: 's', better: 'lower', value: (s) => s.nextDay.cpuSeconds },
  { key: 'nextDayRss', label: 'next-day incremental: peak RSS', unit: 'MiB', better: 'lower', value: (s) => s.nextDay.maxRssBytes / MiB },
  { key: 'restoreSeconds', label: 'restore (next day): time', unit: 's', better: 'lower', value: (s) => s.restore.wallSeconds },
  { key: 'restoreMBps', label: 'restore: throughput', unit: 'MB/s', better: 'higher', value: (s, c) => c.day2Bytes / MB / s.restore.wallSeconds },
  { key: 'restoreRss', label: 'restore: peak RSS', unit: 'MiB', better: 'lower', value: (s) => s.restore.maxRssBytes / MiB },
  { key: 'repoDay1', label: 'repository after day 1', unit: 'MB', better: 'lower', value: (s) => s.repoDay1Bytes / MB },
  { key: 'repoDay2', label: 'repository after day 2 (two snapshots)', unit: 'MB', better: 'lower', value: (s) => s.repoDay2Bytes / MB },
  { key: 'growth', label: 'repository growth on day 2', unit: 'MB', better: 'lower', value: (s) => (s.repoDay2Bytes - s.repoDay1Bytes) / MB },
  { key: 'growthVsPages', label: 'growth ÷ (changed pages + new media)', unit: '×', better: 'lower', value: (s, c) => (s.repoDay2Bytes - s.repoDay1Bytes) / c.minimalGrowthBytes },
  {
    key: 'peakRss',
    label: 'peak RSS, any command',
    unit: 'MiB',
    better: 'lower',
    value: (s) => Math.max(s.first.maxRssBytes, s.rerun.maxRssBytes, s.nextDay.maxRssBytes, s.restore.maxRssBytes) / MiB,
  },
];

/** The middle value; for an even count the mean of the two middle ones. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

export type Medians = Record<string, number>;

export function medians(result: ToolResult, c: Context): Medians {
  const out: Medians = {};
  for (const m of METRICS) out[m.key] = median(result.samples.map((s) => m.value(s, c)));
  return out;
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  status: 'PASS' | 'FAIL' | 'n/a';
}

const fmt = (v: number, digits = 2): string => (Number.isFinite(v) ? v.toFixed(digits) : '—');

/** The acceptance targets from the issue, judged against the faster of the peers that ran. */
export function targets(coffer: Medians | null, cofferResult: ToolResult | null, peers: ReadonlyMap<ToolName, Medians>): Target[] {
  const peerNames = [...peers.keys()].join(' or ') || 'no peer';
  const best = (key: string, better: 'lower' | 'higher'): { value: number; who: string } => {
    let pick = { value: Number.NaN, who: 'none' };
    for (const [who, m] of peers) {
      const v = m[key] ?? NaN;
      if (Number.isNaN(pick.value) || (better === 'higher' ? v > pick.value : v < pick.value)) pick = { value: v, who };
    }
    return pick;
  };
  const judge = (name: string, goal: string, ok: boolean | null, measured: string): Target => ({ name, goal, measured, status: ok === null ? 'n/a' : ok ? 'PASS' : 'FAIL' });
  const ratioTarget = (name: string, key: string, better: 'lower' | 'higher', limit: number, goal: string): Target => {
    const peer = best(key, better);
    const mine = coffer?.[key] ?? NaN;
    const ratio = mine / peer.value;
    if (!Number.isFinite(ratio)) return judge(name, goal, null, coffer === null ? 'Coffer not run' : `no ${peerNames} result`);
    return judge(name, goal, better === 'higher' ? ratio >= limit : ratio <= limit, `${fmt(ratio)}× ${peer.who} (${fmt(mine, 1)} vs ${fmt(peer.value, 1)})`);
  };
  const out = [
    ratioTarget('first backup throughput', 'firstMBps', 'higher', 2.5, `≥ 2.5× the faster of ${peerNames}`),
    ratioTarget('restore throughput', 'restoreMBps', 'higher', 2, `≥ 2× the faster of ${peerNames}`),
    ratioTarget('next-day incremental time', 'nextDaySeconds', 'lower', 0.5, `≤ 0.5× the faster of ${peerNames}`),
  ];
  const restic = peers.get('restic');
  const size = coffer?.repoDay2 ?? NaN;
  const resticSize = restic?.repoDay2 ?? NaN;
  out.push(
    judge(
      'repository size after the two snapshots',
      '≤ restic',
      Number.isFinite(size) && Number.isFinite(resticSize) ? size <= resticSize : null,
      Number.isFinite(size) && Number.isFinite(resticSize) ? `${fmt(size, 1)} MB vs restic ${fmt(resticSize, 1)} MB` : coffer === null ? 'Coffer not run' : 'restic not run',
    ),
  );
  // Peak memory: every Coffer command measured, at every scale.
  const MiB = 1024 * 1024;
  const rss = cofferResult === null ? [] : [...cofferResult.samples.flatMap((s) => [s.first, s.rerun, s.nextDay, s.restore]), ...cofferResult.scaleChecks.flatMap((c) => [c.backup, c.restore])].map((m) => m.maxRssBytes / MiB);
  out.push(judge('Coffer peak RSS', '≤ 200 MiB (any command, any scale)', rss.length > 0 ? Math.max(...rss) <= 200 : null, rss.length > 0 ? `${fmt(Math.max(...rss), 1)} MiB` : 'Coffer not run'));
  const byScale = (cofferResult?.scaleChecks ?? []).map((c) => ({ scale: c.scale, rss: Math.max(c.backup.maxRssBytes, c.restore.maxRssBytes) / MiB })).sort((a, b) => a.scale - b.scale);
  const small = byScale[0];
  const large = byScale.at(-1);
  const growthOk = small !== undefined && large !== undefined && large.scale >= 2 * small.scale ? large.rss <= 1.25 * small.rss : null;
  out.push(
    judge(
      'Coffer peak RSS does not grow with the dataset',
      `at the largest scale ≤ 1.25× the smallest (scales ${byScale.map((b) => String(b.scale)).join(', ') || 'none'})`,
      growthOk,
      growthOk === null ? 'needs Coffer runs at ½× and 2× (--rss-scales 0.5,2)' : byScale.map((b) => `${String(b.scale)}×: ${fmt(b.rss, 1)} MiB`).join(', '),
    ),
  );
  return out;
}
