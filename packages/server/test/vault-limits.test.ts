import { Writable } from 'node:stream';
import { setPassword, vaultLogin } from '@coffer/client';
import * as opaque from '@serenity-kit/opaque';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { vaultSetup } from '../src/vault/setup.ts';
import { sweepExhausted } from '../src/vault/store.ts';
import { createTestDatabase, DIALECTS, postgresReachable } from './databases.ts';
import { freePort, startTestServer, type TestServer } from './harness.ts';
import { events, rawStart, sdk, signedInAccount, vaultRow } from './vault-helpers.ts';

/**
 * Around the guess limit: the persisted OPAQUE setup under racing instances,
 * the sweep that erases an exhausted vault once its last login expired, the
 * per-username and per-address rate limits, and no secret in any log line.
 */
const pgUp = await postgresReachable();

describe.each(DIALECTS)('vault setup and sweep on %s', (dialect) => {
  const skip = dialect === 'postgres' && !pgUp;

  test.skipIf(skip)('instances racing on an empty database agree on one OPAQUE setup, kept in the database', async () => {
    const t = await createTestDatabase(dialect);
    const handles = [t.open(), t.open(), t.open(), t.open()];
    try {
      const setups = await Promise.all(handles.map((db) => vaultSetup(db)));
      expect(new Set(setups.map((s) => s.serverSetup)).size).toBe(1);
      expect(new Set(setups.map((s) => Buffer.from(s.decoyKey).toString('hex'))).size).toBe(1);
      expect(await t.db.all('SELECT id FROM vault_setup')).toHaveLength(1);
      // A later process reads the same row back.
      expect((await vaultSetup(t.db)).serverSetup).toBe(setups[0]?.serverSetup);
    } finally {
      await Promise.all(handles.map((db) => db.close()));
      await t.drop();
    }
  });

  test.skipIf(skip)('an exhausted vault is erased once its last login has expired, even if nobody tries again', async () => {
    const s = await startTestServer(dialect, { COFFER_VAULT_MAX_ATTEMPTS: '2' });
    try {
      const origin = await s.listen();
      const ivan = await signedInAccount(s.database.db, 'ivan');
      await setPassword(sdk(origin, ivan.token), 'ivan password');
      await rawStart(origin, 'ivan');
      await rawStart(origin, 'ivan');
      expect(await vaultRow(s.database.db, ivan.accountId)).toEqual({ attempts_left: 0, live: 1 });
      // Still within the last login's lifetime: nothing is erased yet (that login could verify).
      expect(await s.database.db.transaction((tx) => sweepExhausted(tx, s.config.challengeTtlMs))).toEqual([]);
      await s.database.db.run('UPDATE vault_records SET updated_at = updated_at - ? WHERE account_id = ?', [s.config.challengeTtlMs + 1, ivan.accountId]);
      expect(await s.database.db.transaction((tx) => sweepExhausted(tx, s.config.challengeTtlMs))).toEqual([ivan.accountId]);
      expect(await vaultRow(s.database.db, ivan.accountId)).toEqual({ attempts_left: 0, live: 0 });
    } finally {
      await s.close();
    }
  });
});

describe('vault rate limits and logs (SQLite)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { COFFER_VAULT_MAX_ATTEMPTS: '100' });
    await opaque.ready;
  });
  afterAll(async () => {
    await s.close();
  });

  const start = (username: string, remoteAddress: string, headers: Record<string, string> = {}) =>
    s.app.inject({
      method: 'POST',
      url: '/api/v1/vault/login/start',
      remoteAddress,
      headers,
      payload: { username, startLoginRequest: opaque.client.startLogin({ password: 'guess' }).startLoginRequest },
    });

  test('per username: 120 starts a minute from any mix of addresses; the next is refused before it costs a guess', async () => {
    const judy = await signedInAccount(s.database.db, 'judy');
    const statuses: number[] = [];
    for (let i = 0; i < 121; i++) {
      const res = await start('judy', `10.1.${String(i >> 8)}.${String(i & 255)}`, { 'x-forwarded-for': `192.0.2.${String(i & 255)}` });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) {
        expect(res.json()).toMatchObject({ error: { code: 'E_RATE_LIMITED' } });
        expect(res.headers['retry-after']).toBeDefined();
      }
    }
    expect(statuses.slice(0, 120).every((c) => c === 200)).toBe(true);
    expect(statuses[120]).toBe(429);
    expect(await events(s.database.db, judy.accountId, 'vault-attempt')).toHaveLength(120);
  });

  test('per client address: 300 starts a minute over any names; the next is refused', async () => {
    let refused = 0;
    for (let i = 0; i < 301; i++) if ((await start(`name-${String(i)}`, '10.2.0.1')).statusCode === 429) refused++;
    expect(refused).toBe(1);
    expect((await start('someone-else', '10.2.0.2')).statusCode).toBe(200);
  });
});

describe('vault secrets stay out of the logs', () => {
  test('passwords, shares, export keys, tokens, login ids and OPAQUE messages never appear in a log line', async () => {
    const t = await createTestDatabase('sqlite');
    let logged = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    const port = await freePort();
    const app = await buildApp({ config: loadConfig({ COFFER_DATA_DIR: '/nonexistent', PORT: String(port), LOG_LEVEL: 'trace' }), db: t.db, logger: { stream } });
    try {
      await app.listen({ host: '127.0.0.1', port });
      const origin = `http://localhost:${String(port)}`;
      const kim = await signedInAccount(t.db, 'kim');
      const set = await setPassword(sdk(origin, kim.token), 'kim secret password');
      await expect(vaultLogin(sdk(origin), { username: 'kim', password: 'kim wrong password' })).rejects.toMatchObject({ code: 'E_VAULT_LOGIN_FAILED' });
      const device = sdk(origin);
      const login = await vaultLogin(device, { username: 'kim', password: 'kim secret password' });
      const pending = await rawStart(origin, 'kim');
      const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
      const secrets = ['kim secret password', 'kim wrong password', b64(set.share), b64(set.exportKey), b64(login.share), kim.token, device.token ?? 'no token'];
      const state = await t.db.one<{ server_state: string }>('SELECT server_state FROM vault_logins WHERE id = ?', [pending.body.loginId ?? '']);
      const record = await t.db.one<{ record: string }>('SELECT record FROM vault_records');
      secrets.push(pending.body.loginId ?? 'no id', pending.body.loginResponse ?? 'no KE2', state?.server_state ?? 'no state', record?.record ?? 'no record');
      expect(logged).toContain('/api/v1/vault/login/start');
      for (const secret of secrets) expect(logged.includes(secret), 'a secret reached the log').toBe(false);
    } finally {
      await app.close();
      await t.drop();
    }
  });
});
