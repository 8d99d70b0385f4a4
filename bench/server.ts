/**
 * `npm run bench:server`: the Coffer server's backup store under load.
 *
 * Starts the real server (`packages/server/src/main.ts`, SQLite and local
 * disk, as `npm start` does) in a child process, signs a bench account in,
 * then measures 1 MiB object PUTs and GETs at 8 and 32 concurrent transfers
 * (throughput, p50/p99 latency, errors) and streams one 1 GiB object up and
 * back down (content compared by SHA-256). The server's peak RSS (VmHWM) is
 * read from /proc after each phase. Targets (issue "server part 2"): p99 <
 * 200 ms at 8 concurrent, no errors, server RSS < 300 MiB at 32 concurrent
 * and through the 1 GiB transfer.
 *
 * The client shares the machine's CPUs with the server, so it is kept cheap:
 * the 1 MiB PUTs and GETs go through `node:http` with a keep-alive agent,
 * sending one random body generated before the timed phases and counting the
 * bytes of each reply as they arrive. (It used `fetch`, which copies every
 * request body and gathers every reply into a new buffer: the client then
 * burnt about as much CPU as the server it was measuring.) Each latency still
 * spans the whole exchange, from the request until the reply's last byte.
 *
 * Writes bench/results/server-latest.md and server-latest.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAccount, createSession, openDatabase } from '@coffer/server';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '512' },
    'big-mib': { type: 'string', default: '1024' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const REQUESTS = Number(args.requests);
const BIG_BYTES = Number(args['big-mib']) * 1024 * 1024;
const MIB = 1024 * 1024;

interface Phase {
  name: string;
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  mibPerSecond: number;
  p50ms: number;
  p99ms: number;
  serverPeakRssMiB: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** The server's peak resident set so far (VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return kib / 1024;
}

async function startServer(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['packages/server/src/main.ts'], {
    env: { ...process.env, COFFER_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn', COFFER_STORE_RATE_LIMIT_PER_MINUTE: '10000000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('listening on')) resolve();
    });
    child.once('exit', (code) => {
      reject(new Error(`the server exited early (${String(code)})`));
    });
  });
  return child;
}

async function runPhase(name: string, concurrency: number, requests: number, send: (i: number) => Promise<boolean>, pid: number): Promise<Phase> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const i = next++;
        const t0 = performance.now();
        const ok = await send(i).catch(() => false);
        latencies.push(performance.now() - t0);
        if (!ok) errors++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    name,
    concurrency,
    requests,
    errors,
    seconds,
    mibPerSecond: requests / seconds,
    p50ms: percentile(latencies, 50),
    p99ms: percentile(latencies, 99),
    serverPeakRssMiB: peakRssMiB(pid),
  };
}

const work = mkdtempSync(join(tmpdir(), 'coffer-bench-server-'));
const dataDir = join(work, 'data');
const port = 20_000 + Math.floor(Math.random() * 20_000);
const origin = `http://127.0.0.1:${String(port)}`;
// The bench account and its bearer session, written before the server starts (the same migrations run).
const db = await openDatabase({ dataDir, databaseUrl: undefined });
const account = await createAccount(db, { username: 'bench' });
const { token } = await createSession(db, { accountId: account.id, kind: 'bearer', method: 'recovery-key', device: 'bench', clientAddress: '127.0.0.1', ttlMs: 86_400_000, steppedUp: false });
await db.close();

const server = await startServer(dataDir, port);
const pid = server.pid ?? 0;
const auth = { authorization: `Bearer ${token}` };
const body = randomBytes(MIB);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One request over a kept-alive connection: its status and how many body bytes came back. */
function exchange(method: 'PUT' | 'GET', path: string, payload?: Buffer): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...auth };
    if (payload) {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = String(payload.length);
    }
    const req = request({ host: '127.0.0.1', port, path, method, agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.once('end', () => {
        resolve({ status: res.statusCode ?? 0, bytes });
      });
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(payload);
  });
}

const phases: Phase[] = [];
let bigResult: { seconds: { up: number; down: number }; identical: boolean; serverPeakRssMiB: number } | undefined;
try {
  for (const concurrency of [8, 32]) {
    phases.push(
      await runPhase(`PUT 1 MiB`, concurrency, REQUESTS, async (i) => {
        const r = await exchange('PUT', `/api/v1/store/objects/data/c${String(concurrency)}/${String(i)}`, body);
        return r.status === 201;
      }, pid),
    );
    phases.push(
      await runPhase(`GET 1 MiB`, concurrency, REQUESTS, async (i) => {
        const r = await exchange('GET', `/api/v1/store/objects/data/c${String(concurrency)}/${String(i)}`);
        return r.status === 200 && r.bytes === MIB;
      }, pid),
    );
  }

  // One big object, streamed both ways: generated on the fly, hashed on the fly.
  const sent = createHash('sha256');
  let produced = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (produced >= BIG_BYTES) {
        controller.close();
        return;
      }
      const piece = new Uint8Array(randomBytes(Math.min(4 * MIB, BIG_BYTES - produced)));
      produced += piece.length;
      sent.update(piece);
      controller.enqueue(piece);
    },
  });
  const t0 = performance.now();
  const up = await fetch(`${origin}/api/v1/store/objects/data/big`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(BIG_BYTES) },
    body: source,
    duplex: 'half',
  } as RequestInit);
  await up.arrayBuffer();
  const t1 = performance.now();
  const down = await fetch(`${origin}/api/v1/store/objects/data/big`, { headers: auth });
  const received = createHash('sha256');
  let length = 0;
  for await (const piece of down.body as unknown as AsyncIterable<Uint8Array>) {
    received.update(piece);
    length += piece.length;
  }
  const t2 = performance.now();
  bigResult = {
    seconds: { up: (t1 - t0) / 1000, down: (t2 - t1) / 1000 },
    identical: up.status === 201 && down.status === 200 && length === BIG_BYTES && sent.digest('hex') === received.digest('hex'),
    serverPeakRssMiB: peakRssMiB(pid),
  };
} finally {
  agent.destroy();
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  rmSync(work, { recursive: true, force: true });
}

const at8 = phases.filter((p) => p.concurrency === 8);
const at32 = phases.filter((p) => p.concurrency === 32);
const checks = [
  { target: 'p99 < 200 ms at 8 concurrent (PUT and GET)', pass: at8.every((p) => p.p99ms < 200), value: at8.map((p) => `${p.name} ${p.p99ms.toFixed(1)} ms`).join(', ') },
  { target: 'no errors', pass: phases.every((p) => p.errors === 0), value: `${String(phases.reduce((n, p) => n + p.errors, 0))} errors` },
  { target: 'server RSS < 300 MiB at 32 concurrent', pass: at32.every((p) => p.serverPeakRssMiB < 300), value: `${Math.max(...at32.map((p) => p.serverPeakRssMiB)).toFixed(0)} MiB` },
  {
    target: `${String(BIG_BYTES / MIB)} MiB up and down, identical, server RSS < 300 MiB`,
    pass: bigResult.identical && bigResult.serverPeakRssMiB < 300,
    value: `${bigResult.identical ? 'identical' : 'DIFFERENT'}, up ${bigResult.seconds.up.toFixed(1)} s, down ${bigResult.seconds.down.toFixed(1)} s, peak ${bigResult.serverPeakRssMiB.toFixed(0)} MiB`,
  },
];

const lines = [
  '# Coffer server benchmark: latest run',
  '',
  `\`npm run bench:server\` — ${new Date().toISOString()}; ${String(cpus().length)} CPUs (load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}); Node ${process.version}; SQLite and local disk; client and server on one machine over loopback.`,
  '',
  '| phase | concurrent | requests | errors | time (s) | MiB/s | p50 (ms) | p99 (ms) | server peak RSS (MiB) |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...phases.map((p) => `| ${p.name} | ${String(p.concurrency)} | ${String(p.requests)} | ${String(p.errors)} | ${p.seconds.toFixed(2)} | ${p.mibPerSecond.toFixed(1)} | ${p.p50ms.toFixed(1)} | ${p.p99ms.toFixed(1)} | ${p.serverPeakRssMiB.toFixed(0)} |`),
  '',
  '| target | result | measured |',
  '|---|---|---|',
  ...checks.map((c) => `| ${c.target} | ${c.pass ? 'PASS' : 'FAIL'} | ${c.value} |`),
  '',
  'Peak RSS is the server process\'s VmHWM, which only grows: each row shows the peak up to the end of that phase.',
  '',
];
mkdirSync(args.out, { recursive: true });
writeFileSync(join(args.out, 'server-latest.md'), lines.join('\n'));
writeFileSync(join(args.out, 'server-latest.json'), JSON.stringify({ phases, big: bigResult, checks }, null, 2) + '\n');
console.log(lines.join('\n'));
