/**
 * Several server instances behave as one service: on one PostgreSQL (and one
 * Redis), a session opened on one is valid on the other, an upload to one is
 * readable from the other, the vault's guess limit is exact across both, and
 * a rate limit counts requests to both. Skipped,
 * and saying so, when PostgreSQL or Redis is not reachable.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CofferApi, setPassword, vaultLogin } from '@coffer/client';
import { CofferStorage } from '@coffer/engine/coffer';
import * as opaque from '@serenity-kit/opaque';
import { buildApp } from '../src/app.ts';
import { createAccount } from '../src/accounts/accounts.ts';
import { createSession } from '../src/accounts/sessions.ts';
import { loadConfig } from '../src/config.ts';
import { openPostgres } from '../src/db/postgres.ts';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, postgresReachable, type TestDatabase } from './databases.ts';
import { freePort } from './harness.ts';
import { signedInAccount } from './vault-helpers.ts';

const REDIS_URL = process.env['COFFER_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

async function redisReachable(): Promise<boolean> {
  const url = new URL(REDIS_URL);
  return new Promise((resolve) => {
    const socket = createConnection({ host: url.hostname, port: Number(url.port || 6379) });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const pgUp = await postgresReachable();
const redisUp = await redisReachable();
if (!redisUp) console.warn(`Redis is not reachable at ${REDIS_URL}: the multi-instance tests are SKIPPED.`);

interface Instance {
  app: FastifyInstance;
  origin: string;
  close(): Promise<void>;
}

describe.skipIf(!pgUp || !redisUp)('two server instances on one PostgreSQL and one Redis', () => {
  let database: TestDatabase;
  let instances: Instance[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'coffer-instances-'));
  const prefix = `coffer-test-${randomBytes(4).toString('hex')}:`;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    // Both instances share the database and one blob directory (a shared disk or, in production, S3).
    instances = await Promise.all(
      [0, 1].map(async () => {
        const port = await freePort();
        const config = loadConfig({
          PORT: String(port),
          COFFER_DATA_DIR: dataDir,
          DATABASE_URL: database.location,
          REDIS_URL,
          COFFER_REDIS_PREFIX: prefix,
          COFFER_RATE_LIMIT_PER_MINUTE: '10',
          COFFER_VAULT_MAX_ATTEMPTS: '10',
          // The vault test gives each request its own address (through this "proxy") to stay clear of the 10-per-minute limit.
          COFFER_TRUSTED_PROXIES: '127.0.0.1',
          COFFER_PURGE_INTERVAL_MINUTES: '0',
        });
        const db = openPostgres(database.location);
        const app = await buildApp({ config, db, logger: false });
        await app.listen({ host: '127.0.0.1', port });
        return {
          app,
          origin: `http://127.0.0.1:${String(port)}`,
          close: async () => {
            await app.close();
            await db.close();
          },
        };
      }),
    );
  });

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.close()));
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a session opened through one instance is valid on the other; an upload to one is readable from the other', async () => {
    const [a, b] = instances as [Instance, Instance];
    const account = await createAccount(database.db, {});
    const { token } = await createSession(database.db, { accountId: account.id, kind: 'bearer', method: 'passkey', device: 't', clientAddress: 't', ttlMs: 60_000, steppedUp: false });
    for (const instance of instances) {
      const session = await fetch(`${instance.origin}/api/v1/session`, { headers: { authorization: `Bearer ${token}` } });
      expect(session.status).toBe(200);
    }
    const body = new Uint8Array(randomBytes(100_000));
    await new CofferStorage({ url: a.origin, token }).put('data/ab/shared', body);
    expect(Buffer.compare(await new CofferStorage({ url: b.origin, token }).get('data/ab/shared'), body)).toBe(0);
    // Revoked through b, refused by a.
    await fetch(`${b.origin}/api/v1/session`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    expect((await fetch(`${a.origin}/api/v1/session`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  test('the vault guess limit is exact across instances: 20 parallel wrong logins, 10 processed', async () => {
    const [a] = instances as [Instance, Instance];
    const { token } = await signedInAccount(database.db, 'alice');
    const address = () => ({ 'x-forwarded-for': `198.51.100.${String(1 + Math.floor(Math.random() * 250))}` });
    const api = new CofferApi({ baseUrl: a.origin, token, sessionKind: 'bearer', fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...address() } }) });
    await setPassword(api, 'the right password');
    await opaque.ready;
    const answers = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const { startLoginRequest } = opaque.client.startLogin({ password: `wrong ${String(i)}` });
        const response = await fetch(`${instances[i % 2]?.origin ?? ''}/api/v1/vault/login/start`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...address() },
          body: JSON.stringify({ username: 'alice', startLoginRequest }),
        });
        return ((await response.json()) as { attemptsLeft: number }).attemptsLeft;
      }),
    );
    // Ten guesses were taken (9 … 0 left, each once); the other ten found none left.
    expect(answers.sort((x, y) => x - y)).toEqual([...Array<number>(11).fill(0), 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const fresh = new CofferApi({ baseUrl: instances[1]?.origin ?? '', sessionKind: 'bearer', fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...address() } }) });
    await expect(vaultLogin(fresh, { username: 'alice', password: 'the right password' })).rejects.toMatchObject({ code: 'E_VAULT_LOGIN_FAILED' });
  });

  test('the rate limit counts requests to both instances together', async () => {
    const statuses: number[] = [];
    // 10 per minute per address. Alternating over both instances, 24 requests: unshared
    // counters would let 20 through; shared ones at most 10 (fewer if earlier tests spent some).
    for (let i = 0; i < 24; i++) statuses.push((await fetch(`${instances[i % 2]?.origin ?? ''}/healthz`)).status);
    const allowed = statuses.filter((s) => s === 200).length;
    expect(allowed).toBeGreaterThan(0);
    expect(allowed).toBeLessThanOrEqual(10);
    const firstRefusal = statuses.indexOf(429);
    expect(statuses.slice(firstRefusal).every((s) => s === 429)).toBe(true);
    // Both instances refused once the shared budget was spent.
    expect(statuses.slice(firstRefusal, firstRefusal + 2).sort()).toEqual([429, 429]);
  });
});
