import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { DIALECTS, postgresReachable } from './databases.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { ApiDriver, newSlotId, ok } from './webauthn/api-driver.ts';

/**
 * The passkey ceremonies end to end through the HTTP API, with a software
 * authenticator, on SQLite and on PostgreSQL: what must work, and the
 * account-level rules (several passkeys, the last unlock method, step-up,
 * shares bound to one credential, the security log).
 */
const pgUp = await postgresReachable();
const CLIENT_PRF_LEAK = { prf: { enabled: true, results: { first: 'AAAA' } } };

describe.each(DIALECTS)('passkey ceremonies on %s', (dialect) => {
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

  test.skipIf(skip)('register: options ask for a discoverable, user-verified ES256/RS256 credential with PRF', async () => {
    const options = await api.registerOptions({ username: 'Opt-User' });
    expect(options.authenticatorSelection).toMatchObject({ residentKey: 'required', requireResidentKey: true, userVerification: 'required' });
    expect(options.pubKeyCredParams.map((p) => p.alg)).toEqual([-7, -257]);
    expect(options.extensions).toMatchObject({ prf: {} });
    expect(options.attestation).toBe('none');
    expect(options.user.name).toBe('opt-user');
    expect(Buffer.from(options.user.id, 'base64url')).toHaveLength(32);
    expect(Buffer.from(options.challenge, 'base64url')).toHaveLength(32);
    // No account exists until the response verifies.
    expect(await s.database.db.one('SELECT id FROM accounts WHERE username = ?', ['opt-user'])).toBeUndefined();
    expect((await api.call('POST', '/passkeys/register/options', { username: '   ' })).body.error?.code).toBe('E_BAD_REQUEST');
    expect((await api.call('POST', '/passkeys/register/options', { username: 'x'.repeat(65) })).body.error?.code).toBe('E_BAD_REQUEST');
    await api.registerAccount({ username: 'taken' });
    expect((await api.call('POST', '/passkeys/register/options', { username: 'Taken' })).body.error?.code).toBe('E_CONFLICT');
  });

  test.skipIf(skip)('register, then sign in with and without a username; the session works as a bearer token', async () => {
    const alice = await api.registerAccount({ username: 'alice' });
    const session = ok(await api.call<{ accountId: string; username: string; method: string; stepUpAt: number | null }>('GET', '/session', undefined, alice.token));
    expect(session).toMatchObject({ accountId: alice.accountId, username: 'alice', method: 'passkey' });
    expect(session.stepUpAt).toBeGreaterThan(0);
    // The account's user handle is the one the credential was created with.
    const row = await s.database.db.one<{ user_handle: Uint8Array }>('SELECT user_handle FROM accounts WHERE id = ?', [alice.accountId]);
    expect(Buffer.from(row?.user_handle ?? []).equals(Buffer.from(alice.credential.userHandle))).toBe(true);

    const named = await api.signIn(alice.auth, { username: 'ALICE' });
    expect(named.accountId).toBe(alice.accountId);
    const discoverable = await api.signIn(alice.auth);
    expect(discoverable.accountId).toBe(alice.accountId);
    expect(discoverable.token).not.toBe(named.token);
    const stored = await s.database.db.one<{ counter: number; last_used_at: number | null }>('SELECT counter, last_used_at FROM passkeys WHERE id = ?', [
      alice.credential.id,
    ]);
    expect(stored?.counter).toBe(2);
    expect(stored?.last_used_at).toBeGreaterThan(0);
  });

  test.skipIf(skip)('a browser sign-in gets an httpOnly SameSite=Strict cookie and no token in the body', async () => {
    const bob = await api.registerAccount({ username: 'bob-cookie' });
    const options = await api.signInOptions();
    const res = await s.app.inject({
      method: 'POST',
      url: '/api/v1/passkeys/sign-in/verify',
      payload: { response: bob.auth.assert(options), sessionKind: 'cookie' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ session: Record<string, unknown> }>().session.token).toBeUndefined();
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/coffer_session=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
  });

  test.skipIf(skip)('sign-in options for a name without passkeys carry a stable decoy id, like a real account', async () => {
    const a = await api.signInOptions('nobody-here');
    const b = await api.signInOptions('Nobody-Here');
    expect(a.allowCredentials).toHaveLength(1);
    expect(a.allowCredentials?.[0]?.id).toBe(b.allowCredentials?.[0]?.id);
    expect(Buffer.from(a.allowCredentials?.[0]?.id ?? '', 'base64url')).toHaveLength(32);
    expect(a.allowCredentials?.[0]?.id).not.toBe((await api.signInOptions('somebody-else')).allowCredentials?.[0]?.id);
  });

  test.skipIf(skip)('RS256 credentials work; several passkeys per account, listed with provider, times; rename', async () => {
    const carol = await api.registerAccount({ username: 'carol', auth: api.authenticator({ alg: -257 }) });
    const icloud = Buffer.from('fbfc3007154e4ecc8c0b6e020557d7bd', 'hex');
    const second = await api.addPasskey(carol.token, api.authenticator({ aaguid: icloud, be: true, bs: true }));
    await api.signIn(second.auth, { username: 'carol' });
    const list = ok(await api.call<{ passkeys: { id: string; name: string; provider: string; createdAt: number; lastUsedAt: number | null; backupEligible: boolean }[] }>('GET', '/passkeys', undefined, carol.token)).passkeys;
    expect(list.map((p) => p.id)).toEqual([carol.credential.id, second.credential.id]);
    expect(list[0]).toMatchObject({ provider: 'Passkey', name: 'Passkey', lastUsedAt: null, backupEligible: false });
    expect(list[1]).toMatchObject({ provider: 'iCloud Keychain', name: 'iCloud Keychain', backupEligible: true });
    expect(list[1]?.lastUsedAt).toBeGreaterThan(0);
    expect(list[0]?.createdAt).toBeGreaterThan(0);

    const renamed = ok(await api.call<{ passkey: { name: string } }>('PATCH', `/passkeys/${carol.credential.id}`, { name: ' Laptop ' }, carol.token));
    expect(renamed.passkey.name).toBe('Laptop');
    // The same authenticator cannot register twice for one account (excludeCredentials).
    const options = await api.addOptions(carol.token);
    expect(options.excludeCredentials?.map((c) => c.id).sort()).toEqual([carol.credential.id, second.credential.id].sort());
  });

  test.skipIf(skip)('remove: needs a fresh step-up, never the last unlock method; a removed passkey can no longer sign in', async () => {
    const dave = await api.registerAccount({ username: 'dave' });
    const last = await api.call('DELETE', `/passkeys/${dave.credential.id}`, undefined, dave.token);
    expect(last.status).toBe(409);
    expect(last.body.error?.code).toBe('E_LAST_UNLOCK_METHOD');
    const second = await api.addPasskey(dave.token);
    expect((await api.call('DELETE', `/passkeys/${dave.credential.id}`, undefined, dave.token)).status).toBe(204);
    const options = await api.signInOptions();
    const gone = await api.signInVerify(dave.auth.assert(options));
    expect(gone.body.error?.code).toBe('E_WEBAUTHN_REJECTED');
    expect((await api.call('DELETE', `/passkeys/${second.credential.id}`, undefined, dave.token)).body.error?.code).toBe('E_LAST_UNLOCK_METHOD');
  });

  test.skipIf(skip)('two concurrent removals of an account with two passkeys: exactly one succeeds', async () => {
    const erin = await api.registerAccount({ username: 'erin' });
    const second = await api.addPasskey(erin.token);
    const results = await Promise.all([
      api.call('DELETE', `/passkeys/${erin.credential.id}`, undefined, erin.token),
      api.call('DELETE', `/passkeys/${second.credential.id}`, undefined, erin.token),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([204, 409]);
    expect(await s.database.db.all('SELECT id FROM passkeys WHERE account_id = ?', [erin.accountId])).toHaveLength(1);
  });

  test.skipIf(skip)('step-up: a fresh assertion re-opens sensitive operations after five minutes', async () => {
    const fay = await api.registerAccount({ username: 'fay' });
    await api.addPasskey(fay.token);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 6 * 60_000);
      expect((await api.call('POST', '/passkeys/add/options', undefined, fay.token)).body.error?.code).toBe('E_STEP_UP_REQUIRED');
      const before = Date.now();
      const stepped = ok(await api.stepUpVerify(fay.token, fay.auth.assert(await api.stepUpOptions(fay.token))));
      expect(stepped.stepUpAt).toBeGreaterThanOrEqual(before);
      expect((await api.call('DELETE', `/passkeys/${fay.credential.id}`, undefined, fay.token)).status).toBe(204);
    } finally {
      vi.useRealTimers();
    }
  });

  test.skipIf(skip)('hybrid shares: created and released only through the slot passkey, stable, revoked for good by deletion', async () => {
    const gil = await api.registerAccount({ username: 'gil' });
    const other = await api.addPasskey(gil.token);
    const slot = newSlotId();
    const created = await api.share(gil.token, slot, 'create', gil.auth, gil.credential);
    expect(Buffer.from(created, 'base64url')).toHaveLength(32);
    expect(await api.share(gil.token, slot, 'release', gil.auth, gil.credential)).toBe(created);
    // A second slot bound to the other passkey has its own share.
    const slot2 = newSlotId();
    const created2 = await api.share(gil.token, slot2, 'create', other.auth, other.credential);
    expect(created2).not.toBe(created);
    const listed = ok(await api.call<{ shares: { slotId: string; credentialId: string; lastReleasedAt: number | null }[] }>('GET', '/passkeys/shares', undefined, gil.token));
    expect(listed.shares.map((x) => [x.slotId, x.credentialId]).sort()).toEqual([[slot, gil.credential.id], [slot2, other.credential.id]].sort());
    expect(JSON.stringify(listed)).not.toContain(created);
    // Release options name exactly the slot's credential.
    const options = await api.shareOptions(gil.token, slot, 'release');
    expect(options.allowCredentials?.map((c) => c.id)).toEqual([gil.credential.id]);
    expect(options.userVerification).toBe('required');
    // Deleting the share revokes the slot for good: a new share for the same slot id is a different secret.
    expect((await api.call('DELETE', `/passkeys/shares/${slot}`, undefined, gil.token)).status).toBe(204);
    expect((await api.call('POST', `/passkeys/shares/${slot}/release/options`, undefined, gil.token)).body.error?.code).toBe('E_NOT_FOUND');
    const revoked = await s.database.db.one<{ detail: string }>("SELECT detail FROM security_events WHERE account_id = ? AND type = 'share-deleted'", [gil.accountId]);
    expect(JSON.parse(revoked?.detail ?? '{}')).toMatchObject({ slotId: slot });
    expect((await api.call('DELETE', `/passkeys/shares/${slot}`, undefined, gil.token)).body.error?.code).toBe('E_NOT_FOUND');
    expect(await api.share(gil.token, slot, 'create', gil.auth, gil.credential)).not.toBe(created);
    // Removing a passkey removes the shares bound to it.
    await api.call('DELETE', `/passkeys/${other.credential.id}`, undefined, gil.token);
    expect((await api.call('POST', `/passkeys/shares/${slot2}/release/options`, undefined, gil.token)).body.error?.code).toBe('E_NOT_FOUND');
    expect(await s.database.db.all('SELECT slot_id FROM passkey_shares WHERE credential_id = ?', [other.credential.id])).toEqual([]);
  });

  test.skipIf(skip)('every ceremony leaves its trace in the security log, with no secret in it', async () => {
    const hal = await api.registerAccount({ username: 'hal' });
    const second = await api.addPasskey(hal.token);
    await api.call('PATCH', `/passkeys/${second.credential.id}`, { name: 'Phone' }, hal.token);
    const slot = newSlotId();
    const share = await api.share(hal.token, slot, 'create', hal.auth, hal.credential);
    await api.share(hal.token, slot, 'release', hal.auth, hal.credential);
    ok(await api.stepUpVerify(hal.token, hal.auth.assert(await api.stepUpOptions(hal.token))));
    await api.call('DELETE', `/passkeys/${second.credential.id}`, undefined, hal.token);
    await api.signIn(hal.auth, { username: 'hal' });
    const bad = await api.signInVerify(hal.auth.assert(await api.signInOptions('hal'), { flags: { uv: false } }));
    expect(bad.body.error?.code).toBe('E_WEBAUTHN_REJECTED');
    const log = ok(await api.call<{ events: { type: string; detail: Record<string, unknown> }[] }>('GET', '/security-log', undefined, hal.token)).events;
    expect(log.map((e) => e.type).reverse()).toEqual([
      'account-created',
      'passkey-added',
      'sign-in',
      'passkey-added',
      'passkey-renamed',
      'share-released',
      'share-released',
      'step-up',
      'passkey-removed',
      'sign-in',
      'sign-in-failed',
    ]);
    expect(JSON.stringify(log)).not.toContain(share);
    expect(log.find((e) => e.type === 'share-released')?.detail).toMatchObject({ slotId: slot, credentialId: hal.credential.id });
  });

  test.skipIf(skip)('a double submit of one response succeeds exactly once (20 at a time)', async () => {
    const ivy = await api.registerAccount({ username: 'ivy' });
    const response = ivy.auth.assert(await api.signInOptions('ivy'));
    const replies = await Promise.all(Array.from({ length: 20 }, () => api.signInVerify(response)));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    expect(new Set(replies.filter((r) => r.status !== 200).map((r) => r.body.error?.code))).toEqual(new Set(['E_CHALLENGE']));
    const sessions = await s.database.db.all('SELECT id FROM sessions WHERE account_id = ?', [ivy.accountId]);
    expect(sessions).toHaveLength(2); // registration + the one sign-in
  });

  test.skipIf(skip)('PRF results are refused before anything is read, and never echoed', async () => {
    const jo = await api.registerAccount({ username: 'jo' });
    const options = await api.signInOptions('jo');
    const response = { ...jo.auth.assert(options), clientExtensionResults: CLIENT_PRF_LEAK };
    const reply = await api.call('POST', '/passkeys/sign-in/verify', { response, sessionKind: 'bearer' });
    expect(reply.status).toBe(400);
    expect(reply.body.error?.code).toBe('E_BAD_REQUEST');
    expect(JSON.stringify(reply.body)).not.toContain('AAAA');
    // The challenge was not consumed: the same ceremony can still finish once the client strips the results.
    ok(await api.signInVerify({ ...response, clientExtensionResults: { prf: { enabled: true } } }));
  });

  test.skipIf(skip)('the passkey routes are in the OpenAPI document', async () => {
    const doc = (await s.app.inject('/api/openapi.json')).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/passkeys/register/options',
        '/api/v1/passkeys/register/verify',
        '/api/v1/passkeys/sign-in/options',
        '/api/v1/passkeys/sign-in/verify',
        '/api/v1/passkeys/step-up/options',
        '/api/v1/passkeys/step-up/verify',
        '/api/v1/passkeys/add/options',
        '/api/v1/passkeys/add/verify',
        '/api/v1/passkeys',
        '/api/v1/passkeys/{id}',
        '/api/v1/passkeys/shares',
        '/api/v1/passkeys/shares/{slotId}',
        '/api/v1/passkeys/shares/{slotId}/create/options',
        '/api/v1/passkeys/shares/{slotId}/create/verify',
        '/api/v1/passkeys/shares/{slotId}/release/options',
        '/api/v1/passkeys/shares/{slotId}/release/verify',
      ]),
    );
  });
});
