import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createAccount } from '../src/accounts/accounts.ts';
import { createSession } from '../src/accounts/sessions.ts';
import { REDACTED_PATHS } from '../src/app.ts';
import { startTestServer, type TestServer } from './harness.ts';

describe('server basics (SQLite)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await s.close();
  });

  test('health, readiness and metrics', async () => {
    expect((await s.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await s.app.inject('/readyz')).json()).toEqual({ status: 'ready', database: 'sqlite' });
    const metrics = await s.app.inject('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('coffer_http_requests_total');
  });

  test('security headers, with wasm-unsafe-eval for OPAQUE and nothing looser', async () => {
    const res = await s.app.inject('/');
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).not.toContain("'unsafe-eval'");
    expect(csp).not.toContain("'unsafe-inline'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBeDefined();
  });

  test('an OpenAPI document describing the routes', async () => {
    const doc = (await s.app.inject('/api/openapi.json')).json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/session', '/api/v1/sessions', '/api/v1/security-log']));
  });

  test('typed errors: no session, unknown route, bad query', async () => {
    const noSession = await s.app.inject('/api/v1/session');
    expect(noSession.statusCode).toBe(401);
    expect(noSession.json()).toMatchObject({ error: { code: 'E_UNAUTHENTICATED' } });
    expect((await s.app.inject({ url: '/api/v1/session', headers: { authorization: 'Bearer nonsense' } })).statusCode).toBe(401);
    expect((await s.app.inject('/nope')).json()).toMatchObject({ error: { code: 'E_NOT_FOUND' } });
    expect((await s.app.inject('/api/v1/security-log?limit=100000')).json()).toMatchObject({ error: { code: 'E_BAD_REQUEST' } });
  });

  test('secrets are on the redaction list', () => {
    expect(REDACTED_PATHS).toEqual(expect.arrayContaining(['req.headers.authorization', 'req.headers.cookie']));
  });
});

describe('rate limits (SQLite)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { COFFER_RATE_LIMIT_PER_MINUTE: '5' });
  });
  afterAll(async () => {
    await s.close();
  });

  test('per client address without a session, per account with one (whatever the address)', async () => {
    const statuses = async (count: number, headers: Record<string, string>, remoteAddress: string) => {
      const out: number[] = [];
      for (let i = 0; i < count; i++) out.push((await s.app.inject({ url: '/api/v1/session', headers, remoteAddress })).statusCode);
      return out;
    };
    expect(await statuses(6, {}, '203.0.113.1')).toEqual([401, 401, 401, 401, 401, 429]);
    // Another address has its own budget.
    expect((await statuses(1, {}, '203.0.113.2'))[0]).toBe(401);
    const account = await createAccount(s.database.db, {});
    const { token } = await createSession(s.database.db, { accountId: account.id, kind: 'bearer', method: 'passkey', device: 't', clientAddress: 't', ttlMs: 60_000, steppedUp: false });
    const auth = { authorization: `Bearer ${token}` };
    // One account spread over three addresses shares one budget of five.
    const spread = [...(await statuses(2, auth, '198.51.100.1')), ...(await statuses(2, auth, '198.51.100.2')), ...(await statuses(2, auth, '198.51.100.3'))];
    expect(spread).toEqual([200, 200, 200, 200, 200, 429]);
    const body = (await s.app.inject({ url: '/api/v1/session', headers: auth, remoteAddress: '198.51.100.4' })).json<{ error: { code: string } }>();
    expect(body.error.code).toBe('E_RATE_LIMITED');
  });
});
