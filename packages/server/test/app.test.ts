import { afterAll, beforeAll, describe, expect, test } from 'vitest';
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
