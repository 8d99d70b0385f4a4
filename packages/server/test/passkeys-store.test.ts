import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createAccount } from '../src/accounts/accounts.ts';
import { countUnlockMethods } from '../src/accounts/unlock-methods.ts';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { nowMs } from '../src/db/db.ts';
import { consumeChallenge, issueChallenge } from '../src/passkeys/challenges.ts';
import { decoyCredentialId } from '../src/passkeys/decoy-credentials.ts';
import { loadProviderFile, providerNames } from '../src/passkeys/providers.ts';
import { loadPasskeySettings } from '../src/passkeys/settings.ts';
import { createShare, takeShareForRelease } from '../src/passkeys/shares.ts';
import { insertPasskey, recordAssertion } from '../src/passkeys/store.ts';
import { createTestDatabase, DIALECTS, postgresReachable, type TestDatabase } from './databases.ts';
import { freePort, startTestServer } from './harness.ts';
import { ApiDriver, newSlotId, ok } from './webauthn/api-driver.ts';

/** The passkey area's persistence, on SQLite and PostgreSQL, and its settings. */
const pgUp = await postgresReachable();
const b64 = (n: number) => randomBytes(n).toString('base64url');

describe.each(DIALECTS)('passkey persistence on %s', (dialect) => {
  const skip = dialect === 'postgres' && !pgUp;
  let t: TestDatabase;
  beforeEach(async () => {
    if (!skip) t = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    if (!skip) await t.drop();
  });

  async function passkeyFor(accountId: string, counter = 0) {
    const p = { id: b64(32), accountId, publicKey: new Uint8Array(77), alg: -7, counter, backupEligible: false, backedUp: false, transports: [], aaguid: '00000000-0000-0000-0000-000000000000', name: 'Passkey', createdAt: nowMs() };
    expect(await insertPasskey(t.db, p)).toBe(true);
    return p;
  }

  test.skipIf(skip)('a challenge is consumed exactly once, even by 20 concurrent requests', async () => {
    const challenge = Buffer.from(await issueChallenge(t.db, 'sign-in', {}, 60_000)).toString('base64url');
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => consumeChallenge(t.db, challenge, 'sign-in')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r.reason as { code: string }).code)).toEqual(Array(19).fill('E_CHALLENGE'));
  });

  test.skipIf(skip)('a challenge is bound to its purpose, session and slot; an expired one is refused and gone', async () => {
    const bound = Buffer.from(await issueChallenge(t.db, 'share-release', { sessionId: 's1', slotId: 'slot-a', credentialId: 'c' }, 60_000)).toString('base64url');
    await expect(consumeChallenge(t.db, bound, 'sign-in')).rejects.toMatchObject({ code: 'E_CHALLENGE' });
    await expect(consumeChallenge(t.db, bound, 'share-release', { sessionId: 's2', slotId: 'slot-a' })).rejects.toMatchObject({ code: 'E_CHALLENGE' });
    await expect(consumeChallenge(t.db, bound, 'share-release', { sessionId: 's1', slotId: 'slot-b' })).rejects.toMatchObject({ code: 'E_CHALLENGE' });
    await expect(consumeChallenge(t.db, bound, 'share-release')).rejects.toMatchObject({ code: 'E_CHALLENGE' });
    // None of the wrong attempts burnt it.
    expect(await consumeChallenge(t.db, bound, 'share-release', { sessionId: 's1', slotId: 'slot-a' })).toMatchObject({ credentialId: 'c', sessionId: 's1' });

    const expired = Buffer.from(await issueChallenge(t.db, 'sign-in', {}, -1)).toString('base64url');
    await expect(consumeChallenge(t.db, expired, 'sign-in')).rejects.toMatchObject({ code: 'E_CHALLENGE' });
    expect(await t.db.one('SELECT challenge FROM webauthn_challenges WHERE challenge = ?', [expired])).toBeUndefined();
    // Issuing sweeps expired rows.
    await issueChallenge(t.db, 'sign-in', {}, -1);
    await issueChallenge(t.db, 'sign-in', {}, 60_000);
    expect(await t.db.all('SELECT challenge FROM webauthn_challenges')).toHaveLength(1);
  });

  test.skipIf(skip)('counters only move forward; a counter-less authenticator stays at zero', async () => {
    const account = await createAccount(t.db, { username: 'alice' });
    const counting = await passkeyFor(account.id, 5);
    expect(await recordAssertion(t.db, counting.id, { counter: 5, backedUp: false })).toBe(false);
    expect(await recordAssertion(t.db, counting.id, { counter: 4, backedUp: false })).toBe(false);
    expect(await recordAssertion(t.db, counting.id, { counter: 0, backedUp: false })).toBe(false);
    expect(await recordAssertion(t.db, counting.id, { counter: 9, backedUp: true })).toBe(true);
    expect(await t.db.one('SELECT counter, backed_up FROM passkeys WHERE id = ?', [counting.id])).toEqual({ counter: 9, backed_up: 1 });
    const zero = await passkeyFor(account.id, 0);
    expect(await recordAssertion(t.db, zero.id, { counter: 0, backedUp: false })).toBe(true);
    expect(await recordAssertion(t.db, zero.id, { counter: 0, backedUp: false })).toBe(true);
  });

  test.skipIf(skip)('a share is released only while bound to the credential asking; one per slot', async () => {
    const account = await createAccount(t.db, { username: 'alice' });
    const p1 = await passkeyFor(account.id);
    const p2 = await passkeyFor(account.id);
    const slotId = newSlotId();
    const share = await createShare(t.db, { accountId: account.id, slotId, credentialId: p1.id });
    expect(share).toHaveLength(32);
    expect(await createShare(t.db, { accountId: account.id, slotId, credentialId: p2.id })).toBeUndefined();
    expect(await takeShareForRelease(t.db, account.id, slotId, p2.id)).toBeUndefined();
    expect(await takeShareForRelease(t.db, account.id, slotId, p1.id)).toEqual(share);
    const other = await createAccount(t.db, { username: 'bob' });
    expect(await takeShareForRelease(t.db, other.id, slotId, p1.id)).toBeUndefined();
  });

  test.skipIf(skip)('unlock methods: passkeys, live vault passwords and recovery keys', async () => {
    const account = await createAccount(t.db, { username: 'alice' });
    expect(await countUnlockMethods(t.db, account.id)).toBe(0);
    await passkeyFor(account.id);
    await passkeyFor(account.id);
    expect(await countUnlockMethods(t.db, account.id)).toBe(2);
    const other = await createAccount(t.db, { username: 'bob' });
    await passkeyFor(other.id);
    expect(await countUnlockMethods(t.db, account.id)).toBe(2);
    // The vault area's tables (migration 003): a recovery key counts, an erased vault (record NULL) does not.
    await t.db.run('INSERT INTO recovery_keys (id, account_id, public_key, label, created_at) VALUES (?, ?, ?, ?, ?)', ['rk1', account.id, new Uint8Array(32), 'Recovery key', nowMs()]);
    expect(await countUnlockMethods(t.db, account.id)).toBe(3);
    await t.db.run(
      'INSERT INTO vault_records (account_id, record, share, generation, attempts_left, created_at, updated_at, erased_at) VALUES (?, NULL, NULL, 1, 0, ?, ?, ?)',
      [account.id, nowMs(), nowMs(), nowMs()],
    );
    expect(await countUnlockMethods(t.db, account.id)).toBe(3);
    await t.db.run("UPDATE vault_records SET record = 'opaque-record', erased_at = NULL WHERE account_id = ?", [account.id]);
    expect(await countUnlockMethods(t.db, account.id)).toBe(4);
  });

  test.skipIf(skip)('the decoy credential id of a name is stable across instances sharing the database', async () => {
    const second = t.open();
    try {
      const one = await decoyCredentialId(t.db, 'Nobody');
      expect(await decoyCredentialId(second, 'nobody')).toBe(one);
      expect(await decoyCredentialId(second, 'somebody')).not.toBe(one);
    } finally {
      await second.close();
    }
  });
});

describe('passkey settings', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-aaguid-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('provider names: well-known, operator file in either shape, unknown is "Passkey"', () => {
    const file = join(dir, 'aaguids.json');
    writeFileSync(
      file,
      JSON.stringify({ '01020304-0506-0708-0102-030405060708': 'Test Vault', 'AAAAAAAA-0000-0000-0000-000000000001': { name: 'Other\u0007 Vault', icon_dark: 'data:...' } }),
    );
    const settings = loadPasskeySettings({ COFFER_AAGUID_FILE: file });
    expect(settings.providers.nameOf('01020304-0506-0708-0102-030405060708')).toBe('Test Vault');
    expect(settings.providers.nameOf('aaaaaaaa-0000-0000-0000-000000000001')).toBe('Other Vault');
    expect(settings.providers.nameOf('ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4')).toBe('Google Password Manager');
    expect(providerNames().nameOf('00000000-0000-0000-0000-000000000000')).toBe('Passkey');
    expect(settings.ceremonyRateLimit).toBe(30);
  });

  test('a bad AAGUID file or rate limit stops the server at start-up', () => {
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, '{ nope');
    expect(() => loadProviderFile(notJson)).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    const badKey = join(dir, 'bad-key.json');
    writeFileSync(badKey, JSON.stringify({ 'not-an-aaguid': 'X' }));
    expect(() => loadProviderFile(badKey)).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    expect(() => loadProviderFile(join(dir, 'missing.json'))).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    expect(() => loadPasskeySettings({ COFFER_CEREMONY_RATE_LIMIT: '0' })).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
  });

  test('the public ceremony routes have their own, tighter rate limit per client address', async () => {
    process.env['COFFER_CEREMONY_RATE_LIMIT'] = '3';
    const s = await startTestServer('sqlite');
    delete process.env['COFFER_CEREMONY_RATE_LIMIT'];
    try {
      const api = new ApiDriver(s.app, s.origin);
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await api.call('POST', '/passkeys/sign-in/options', {})).status);
      expect(codes).toEqual([200, 200, 200, 429]);
      expect((await api.call('POST', '/passkeys/sign-in/options', {})).body.error?.code).toBe('E_RATE_LIMITED');
      // Another address is not affected.
      expect((await new ApiDriver(s.app, s.origin).call('POST', '/passkeys/sign-in/options', {})).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('secrets in logs', () => {
  test('no share, PRF result or token reaches the server log, at debug level', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const database = await createTestDatabase('sqlite');
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'coffer-log-'));
    const config = loadConfig({ COFFER_DATA_DIR: dataDir, COFFER_PURGE_INTERVAL_MINUTES: '0', PORT: String(port), LOG_LEVEL: 'debug' });
    const app = await buildApp({ config, db: database.db, logger: { stream } });
    try {
      const api = new ApiDriver(app, config.origin);
      const alice = await api.registerAccount({ username: 'alice' });
      const slot = newSlotId();
      const share = await api.share(alice.token, slot, 'create', alice.auth, alice.credential);
      const released = await api.share(alice.token, slot, 'release', alice.auth, alice.credential);
      const leak = b64(32);
      const options = await api.signInOptions('alice');
      const refused = await api.call('POST', '/passkeys/sign-in/verify', {
        response: { ...alice.auth.assert(options), clientExtensionResults: { prf: { enabled: true, results: { first: leak } } } },
        sessionKind: 'bearer',
      });
      expect(refused.body.error?.code).toBe('E_BAD_REQUEST');
      const bad = await api.signInVerify(alice.auth.assert(await api.signInOptions(), { origin: 'http://evil.example' }));
      expect(bad.body.error?.code).toBe('E_WEBAUTHN_REJECTED');
      ok(await api.call('GET', '/session', undefined, alice.token));
      const log = lines.join('');
      expect(log).toContain('webauthn response rejected');
      for (const secret of [share, released, leak, alice.token]) expect(log).not.toContain(secret);
    } finally {
      await app.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
