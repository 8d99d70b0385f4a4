/**
 * `npm start` as an operator sees it: the server starts with no configuration
 * but a data directory, prints its URL, answers, logs JSON without secrets,
 * and stops cleanly (exit 0) on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { freePort } from './harness.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'coffer-main-'));
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

test('starts with embedded defaults, prints the URL, redacts tokens in its log, stops on SIGTERM', async () => {
  const port = await freePort();
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !/^(COFFER_|DATABASE_URL|REDIS_URL|PORT|HOST)/.test(name)) env[name] = value;
  const child = spawn(process.execPath, ['packages/server/src/main.ts'], { env: { ...env, COFFER_DATA_DIR: dataDir, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await expect.poll(() => stdout, { timeout: 30_000 }).toContain(`http://localhost:${String(port)}`);
  expect(stdout).toContain(dataDir);
  const health = await fetch(`http://127.0.0.1:${String(port)}/healthz`);
  expect(await health.json()).toEqual({ status: 'ok' });
  const secret = 'bearer-token-that-must-not-be-logged';
  const denied = await fetch(`http://127.0.0.1:${String(port)}/api/v1/session`, { headers: { authorization: `Bearer ${secret}`, cookie: `coffer_session=${secret}` } });
  expect(denied.status).toBe(401);
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(stdout).toContain('"url":"/api/v1/session"');
  expect(stdout).not.toContain(secret);
  expect(stdout).toContain('shutting down');
});
