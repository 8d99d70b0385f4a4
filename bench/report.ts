/** Turns results into bench/results/latest.md (for people) and latest.json (for scripts). */
import { cpus, loadavg, release, totalmem } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { describeDataset, type DatasetManifest } from './dataset.ts';
import { run } from './proc.ts';
import { METRICS, medians, targets, type Context, type Medians, type ToolResult } from './stats.ts';
import type { ToolName } from './tools.ts';

export interface RunInfo {
  command: string;
  startedAt: string;
  finishedAt: string;
  runs: number;
  cacheMode: string;
  dataset: DatasetManifest;
  datasetCached: boolean;
  loadAverageAtStart: number[];
  /** Shares of all CPU time during the run that were stolen by the hypervisor / spent busy. */
  stealShare: number | null;
  busyShare: number | null;
}

export function machine(): Record<string, string> {
  const debian = existsSync('/etc/debian_version') ? readFileSync('/etc/debian_version', 'utf8').trim() : 'unknown';
  let commit = 'unknown';
  try {
    commit = run('git', ['rev-parse', '--short', 'HEAD']).trim() + (run('git', ['status', '--porcelain']).trim() === '' ? '' : ' (with uncommitted changes)');
  } catch {
    // not a git checkout
  }
  return {
    cpu: `${cpus()[0]?.model ?? 'unknown'} × ${String(cpus().length)}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `Debian ${debian}, Linux ${release()}`,
    node: process.version,
    commit,
    loadNow: loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

const fmt = (v: number | undefined, unit: string): string => {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return v.toFixed(unit === '×' || unit === 's' ? 2 : 1);
};

export interface Report {
  markdown: string;
  json: unknown;
}

export function buildReport(info: RunInfo, results: readonly ToolResult[], versions: ReadonlyMap<ToolName, string>): Report {
  const m = info.dataset;
  const ctx: Context = { day1Bytes: m.day1.bytes, day2Bytes: m.day2.bytes, minimalGrowthBytes: m.minimalGrowthBytes };
  const ran = results.filter((r) => r.skipped === null && r.samples.length > 0);
  const med = new Map<ToolName, Medians>(ran.map((r) => [r.name, medians(r, ctx)]));
  const coffer = med.get('coffer') ?? null;
  const peers = new Map([...med].filter(([name]) => name !== 'coffer'));
  const acceptance = targets(coffer, ran.find((r) => r.name === 'coffer') ?? null, peers);
  const host = machine();
  const lines: string[] = [];
  const names = ran.map((r) => r.name);
  const peerNames = names.filter((n) => n !== 'coffer');

  lines.push('# Coffer benchmark: latest run', '');
  lines.push(`\`${info.command}\` — ${info.startedAt} to ${info.finishedAt}; medians of ${String(info.runs)} runs; page cache: ${info.cacheMode}.`, '');
  lines.push('## Machine', '');
  lines.push(`- CPU: ${host.cpu ?? ''}; RAM: ${host.memory ?? ''}; ${host.os ?? ''}; Node ${host.node ?? ''}; commit ${host.commit ?? ''}`);
  const pct = (v: number | null): string => (v === null ? '?' : `${(v * 100).toFixed(0)} %`);
  lines.push(`- load average at start: ${info.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}; at end: ${host.loadNow ?? ''}; during the run the CPUs were ${pct(info.busyShare)} busy (all processes, not only the tool measured) and ${pct(info.stealShare)} stolen by the hypervisor. A shared host makes wall times noisy: compare tools within this run only, and prefer the CPU-time rows.`);
  for (const r of results) lines.push(`- ${r.name}: ${r.skipped === null ? (versions.get(r.name) ?? '?') : `not run — ${r.skipped}`}`);
  lines.push('', '## Dataset', '');
  lines.push(...describeDataset(m).split('\n').map((l) => `- ${l}`));
  lines.push(`- generated in ${m.generationSeconds.toFixed(1)} s${info.datasetCached ? ' (earlier; reused from the cache this run)' : ''}; SQLite ${m.sqliteVersion}`, '');

  lines.push(`## Results (median of ${String(info.runs)} runs)`, '');
  const ratioHeads = peerNames.map((p) => `coffer ÷ ${p}`);
  lines.push(`| metric | unit | ${names.join(' | ')}${ratioHeads.length > 0 && coffer !== null ? ' | ' + ratioHeads.join(' | ') : ''} |`);
  lines.push(`|---|---|${names.map(() => '---:').join('|')}|${coffer !== null ? peerNames.map(() => '---:|').join('') : ''}`);
  for (const metric of METRICS) {
    const cells = names.map((n) => fmt(med.get(n)?.[metric.key], metric.unit));
    const ratios = coffer === null ? [] : peerNames.map((p) => fmt((coffer[metric.key] ?? NaN) / (peers.get(p)?.[metric.key] ?? NaN), '×'));
    lines.push(`| ${metric.label} | ${metric.unit} | ${cells.join(' | ')} |${ratios.length > 0 ? ' ' + ratios.join(' | ') + ' |' : ''}`);
  }
  lines.push('', `Throughput is dataset bytes (day 1: ${(m.day1.bytes / 1e6).toFixed(1)} MB; restore of day 2: ${(m.day2.bytes / 1e6).toFixed(1)} MB) ÷ wall time, MB = 10^6 B. Repository size is the apparent size (du -sb) of the repository directory.`, '');

  lines.push('## Repository growth against the SQLite page diff', '');
  lines.push(`Changed 4 KiB pages between the two database versions: ${String(m.pageDiff.changedPages)} = ${(m.pageDiff.changedBytes / 1e6).toFixed(1)} MB; new media not already present: ${(m.newUniqueMediaBytes / 1e6).toFixed(1)} MB; sum ${(m.minimalGrowthBytes / 1e6).toFixed(1)} MB.`, '');
  lines.push('| tool | growth on day 2 (MB) | ÷ (changed pages + new media) |', '|---|---:|---:|');
  for (const n of names) lines.push(`| ${n} | ${fmt(med.get(n)?.growth, 'MB')} | ${fmt(med.get(n)?.growthVsPages, '×')} |`);
  lines.push('');

  const checks = ran.flatMap((r) => r.scaleChecks.map((c) => ({ tool: r.name, c })));
  if (checks.length > 0) {
    lines.push('## Peak memory against dataset size (one run each)', '');
    lines.push('| tool | scale | dataset (MB) | first backup (s) | backup peak RSS (MiB) | restore peak RSS (MiB) |', '|---|---:|---:|---:|---:|---:|');
    for (const { tool, c } of checks) {
      lines.push(`| ${tool} | ${String(c.scale)} | ${(c.datasetBytes / 1e6).toFixed(1)} | ${c.backup.wallSeconds.toFixed(2)} | ${(c.backup.maxRssBytes / 2 ** 20).toFixed(1)} | ${(c.restore.maxRssBytes / 2 ** 20).toFixed(1)} |`);
    }
    lines.push('');
  }

  lines.push('## Acceptance targets', '');
  lines.push('| target | goal | measured | status |', '|---|---|---|---|');
  for (const t of acceptance) lines.push(`| ${t.name} | ${t.goal} | ${t.measured} | **${t.status}** |`);
  lines.push('', 'How it is measured: see bench/README.md. Raw samples: latest.json.', '');

  const json = {
    info,
    machine: host,
    versions: Object.fromEntries(versions),
    medians: Object.fromEntries(med),
    acceptance,
    results,
  };
  return { markdown: lines.join('\n'), json };
}
