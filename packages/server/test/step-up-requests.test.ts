import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DIALECTS, postgresReachable } from './databases.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { ApiDriver, ok, type SignedIn } from './webauthn/api-driver.ts';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';

/**
 * Step-up requests (src/step-up/): a session asks, a passkey of the same
 * account confirms on the page, and only then is that session stepped up.
 * Through the HTTP API with a software authenticator, on SQLite and
 * PostgreSQL; the browser page itself is exercised by the CLI's
 * server-step-up test in Chromium.
 */
const pgUp = await postgresReachable();

interface Created {
  id: string;
  code: string;
  url: string;
  expiresAt: number;
}
interface View {
  id: string;
  code: string;
  status: string;
  action: string;
  device: string;
  account: { username: string | null };
}

describe.each(DIALECTS)('step-up requests on %s', (dialect) => {
  const skip = dialect === 'postgres' && !pgUp;
  let s: TestServer;
  let api: ApiDriver;
  beforeAll(async () => {
    if (skip) return;
    s = await startTestServer(dialect);
    api = new ApiDriver(s.app, s.origin);
  });
  afterAll(async () => {
    if (!skip) await s.close();
  });

  /** A signed-in account whose session's last proof is too old for a delete. */
  async function staleAccount(username: string): Promise<SignedIn> {
    const user = await api.registerAccount({ username });
    await s.database.db.run('UPDATE sessions SET step_up_at = NULL WHERE account_id = ?', [user.accountId]);
    return user;
  }

  const stepUpAt = async (token: string) => ok(await api.call<{ stepUpAt: number | null }>('GET', '/session', undefined, token)).stepUpAt;
  const create = async (token: string, action?: string) => ok(await api.call<Created>('POST', '/step-up-requests', action === undefined ? {} : { action }, token));
  const options = async (id: string) => ok(await api.call<{ options: PublicKeyCredentialRequestOptionsJSON }>('POST', `/step-up-requests/${id}/options`)).options;
  const approve = (id: string, response: unknown) => api.call<View>('POST', `/step-up-requests/${id}/approve`, { response });

  test.skipIf(skip)('ask, look, confirm with a passkey: the asking session is stepped up and the log says how', async () => {
    const erin = await staleAccount('erin');
    expect(await stepUpAt(erin.token)).toBeNull();
    const request = await create(erin.token, 'delete data from your backup');
    expect(request.code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(request.url).toBe(`${s.origin}/confirm/${request.id}`);
    expect(request.expiresAt - Date.now()).toBeGreaterThan(9 * 60_000);

    // What the page shows, to anyone with its address (no session needed).
    const shown = ok(await api.call<View>('GET', `/step-up-requests/${request.id}`));
    expect(shown).toMatchObject({ id: request.id, code: request.code, status: 'pending', action: 'delete data from your backup', device: 'test-driver', account: { username: 'erin' } });
    const page = await s.app.inject({ method: 'GET', url: `/confirm/${request.id}` });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).not.toContain('<script>');
    for (const asset of ['confirm.js', 'confirm.css', 'simplewebauthn-browser.js']) {
      expect((await s.app.inject({ method: 'GET', url: `/assets/step-up/${asset}` })).statusCode).toBe(200);
    }
    expect((await s.app.inject({ method: 'GET', url: '/assets/step-up/..%2F..%2Fconfig.ts' })).statusCode).toBe(404);

    const challenge = await options(request.id);
    expect(challenge.userVerification).toBe('required');
    expect(challenge.allowCredentials?.map((c) => c.id)).toEqual([erin.credential.id]);
    const approved = ok(await approve(request.id, erin.auth.assert(challenge)));
    expect(approved.status).toBe('approved');
    expect(await stepUpAt(erin.token)).toBeGreaterThan(Date.now() - 60_000);

    // Decided once: neither a second confirmation nor a late decline changes it.
    expect((await api.call('POST', `/step-up-requests/${request.id}/options`)).body.error?.code).toBe('E_CONFLICT');
    expect((await api.call('POST', `/step-up-requests/${request.id}/deny`)).body.error?.code).toBe('E_CONFLICT');
    const log = await s.database.db.all<{ type: string; detail: string }>("SELECT type, detail FROM security_events WHERE account_id = ? AND type LIKE 'step-up%' ORDER BY id", [erin.accountId]);
    expect(log.map((e) => e.type)).toEqual(['step-up-requested', 'step-up']);
    expect(JSON.parse(log[1]?.detail ?? '{}')).toMatchObject({ via: 'confirmation-page', requestId: request.id, credentialId: erin.credential.id });
  });

  test.skipIf(skip)("another account's passkey, or another request's challenge, confirms nothing", async () => {
    const fay = await staleAccount('fay');
    const mallory = await api.registerAccount({ username: 'mallory' });
    const request = await create(fay.token);
    const forged = await approve(request.id, mallory.auth.assert(await options(request.id), { credential: mallory.credential }));
    expect(forged.body.error?.code).toBe('E_FORBIDDEN');

    // A challenge issued for one request does not approve another, even of the same account.
    const other = await create(fay.token);
    const crossed = await approve(request.id, fay.auth.assert(await options(other.id)));
    expect(crossed.body.error?.code).toBe('E_CHALLENGE');
    expect(ok(await api.call<View>('GET', `/step-up-requests/${request.id}`)).status).toBe('pending');
    expect(await stepUpAt(fay.token)).toBeNull();

    // The same response twice: its challenge is spent by the first.
    const response = fay.auth.assert(await options(request.id));
    ok(await approve(request.id, response));
    expect((await approve(request.id, response)).body.error?.code).toBe('E_CONFLICT');
  });

  test.skipIf(skip)('of two confirmations at once, exactly one is taken', async () => {
    // Two passkeys of the account, so that both assertions are valid on their own (one
    // credential's two assertions would also race on its signature counter).
    const gus = await api.registerAccount({ username: 'gus' });
    const second = await api.addPasskey(gus.token);
    await s.database.db.run('UPDATE sessions SET step_up_at = NULL WHERE account_id = ?', [gus.accountId]);
    const request = await create(gus.token);
    const a = gus.auth.assert(await options(request.id), { credential: gus.credential });
    const b = second.auth.assert(await options(request.id), { credential: second.credential });
    const replies = await Promise.all([approve(request.id, a), approve(request.id, b)]);
    expect(replies.map((r) => r.status).sort()).toEqual([200, 409]);
  });

  test.skipIf(skip)('declined: the asking device learns it, the log flags it as a failure, and it cannot be approved after', async () => {
    const hal = await staleAccount('hal');
    const request = await create(hal.token);
    const challenge = await options(request.id);
    expect(ok(await api.call<View>('POST', `/step-up-requests/${request.id}/deny`)).status).toBe('denied');
    expect(ok(await api.call<View>('GET', `/step-up-requests/${request.id}`, undefined, hal.token)).status).toBe('denied');
    expect((await approve(request.id, hal.auth.assert(challenge))).body.error?.code).toBe('E_CONFLICT');
    expect(await stepUpAt(hal.token)).toBeNull();
    const denied = await s.database.db.one<{ detail: string }>("SELECT detail FROM security_events WHERE account_id = ? AND type = 'step-up-denied'", [hal.accountId]);
    expect(JSON.parse(denied?.detail ?? '{}')).toMatchObject({ requestId: request.id, failure: true, requestedBy: 'test-driver' });
  });

  test.skipIf(skip)('expired requests and revoked sessions: nothing left to confirm', async () => {
    const ida = await staleAccount('ida');
    const request = await create(ida.token);
    await s.database.db.run('UPDATE step_up_requests SET expires_at = ? WHERE id = ?', [Date.now() - 1, request.id]);
    expect(ok(await api.call<View>('GET', `/step-up-requests/${request.id}`)).status).toBe('expired');
    expect((await api.call('POST', `/step-up-requests/${request.id}/options`)).body.error?.code).toBe('E_CONFLICT');

    const second = await create(ida.token);
    const challenge = await options(second.id);
    expect((await api.call('DELETE', '/session', undefined, ida.token)).status).toBe(204);
    // The asking session is gone: a confirmation would step up nothing, so none is taken.
    expect(ok(await api.call<View>('GET', `/step-up-requests/${second.id}`)).status).toBe('expired');
    expect((await approve(second.id, ida.auth.assert(challenge))).body.error?.code).toBe('E_CONFLICT');
  });

  test.skipIf(skip)('the asking session, and only it, can withdraw a pending request', async () => {
    const kim = await staleAccount('kim');
    const request = await create(kim.token);
    const other = await api.signIn(kim.auth);
    expect((await api.call('DELETE', `/step-up-requests/${request.id}`)).body.error?.code).toBe('E_UNAUTHENTICATED');
    expect((await api.call('DELETE', `/step-up-requests/${request.id}`, undefined, other.token)).body.error?.code).toBe('E_FORBIDDEN');
    expect(ok(await api.call<View>('DELETE', `/step-up-requests/${request.id}`, undefined, kim.token)).status).toBe('cancelled');
    expect((await api.call('POST', `/step-up-requests/${request.id}/options`)).body.error?.code).toBe('E_CONFLICT');
    expect((await api.call('DELETE', `/step-up-requests/${request.id}`, undefined, kim.token)).body.error?.code).toBe('E_CONFLICT');
  });

  test.skipIf(skip)('bad input: no session, no passkey, unknown or malformed ids, oversized fields', async () => {
    expect((await api.call('POST', '/step-up-requests', {})).body.error?.code).toBe('E_UNAUTHENTICATED');
    const jay = await api.registerAccount({ username: 'jay' });
    expect((await api.call('POST', '/step-up-requests', { action: 'x'.repeat(201) }, jay.token)).body.error?.code).toBe('E_BAD_REQUEST');
    expect((await api.call('POST', '/step-up-requests', { action: 'ok', extra: 1 }, jay.token)).body.error?.code).toBe('E_BAD_REQUEST');
    const unknown = 'A'.repeat(22);
    expect((await api.call('GET', `/step-up-requests/${unknown}`)).body.error?.code).toBe('E_NOT_FOUND');
    expect((await api.call('POST', `/step-up-requests/${unknown}/deny`)).body.error?.code).toBe('E_NOT_FOUND');
    expect((await api.call('GET', '/step-up-requests/short')).body.error?.code).toBe('E_BAD_REQUEST');
    expect((await api.call('POST', `/step-up-requests/${unknown}/approve`, { response: 'nope' })).body.error?.code).toBe('E_BAD_REQUEST');
    // Control characters in the action cannot fake lines on the page.
    const shown = ok(await api.call<View>('GET', `/step-up-requests/${(await create(jay.token, 'prune\nApproved by admin')).id}`));
    expect(shown.action).toBe('prune Approved by admin');
    // An account without a passkey has nothing to confirm with.
    await s.database.db.run('DELETE FROM passkeys WHERE account_id = ?', [jay.accountId]);
    expect((await api.call('POST', '/step-up-requests', {}, jay.token)).body.error?.code).toBe('E_NOT_FOUND');
  });
});
