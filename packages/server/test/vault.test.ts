import { getVaultStatus, setPassword, vaultLogin, VaultLoginError } from '@coffer/client';
import * as opaque from '@serenity-kit/opaque';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DIALECTS, postgresReachable } from './databases.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { events, rawStart, sdk, signedInAccount, vaultRow, type RawStart } from './vault-helpers.ts';

/**
 * The password vault's guess limit on SQLite and on PostgreSQL (security test
 * plan §E): exact decrements, reset only by a verified login, erasure at the
 * limit, 100 concurrent guesses against N = 10, and answers for erased and
 * unknown names that cannot be told apart. Real HTTP against a listening
 * server; on PostgreSQL the pool has 10 connections, so guesses really race.
 */
const pgUp = await postgresReachable();
const N = 10;

describe.each(DIALECTS)('password vault on %s', (dialect) => {
  const skip = dialect === 'postgres' && !pgUp;
  let s: TestServer;
  let origin: string;
  beforeAll(async () => {
    if (skip) return;
    s = await startTestServer(dialect, { COFFER_VAULT_MAX_ATTEMPTS: String(N) });
    origin = await s.listen();
  });
  afterAll(async () => {
    if (!skip) await s.close();
  });

  test.skipIf(skip)('SDK round trip: set a password, wrong passwords cost a guess each, the right one releases the share and resets', async () => {
    const alice = await signedInAccount(s.database.db, 'Alice');
    const set = await setPassword(sdk(origin, alice.token), 'correct horse battery staple');
    expect(set.share).toHaveLength(32);
    expect(set.exportKey).toHaveLength(64);
    expect(set.attemptsLeft).toBe(N);

    const device = sdk(origin);
    for (const expected of [N - 1, N - 2]) {
      const error = await vaultLogin(device, { username: 'alice', password: 'Tr0ub4dor&3' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VaultLoginError);
      expect(error).toMatchObject({ code: 'E_VAULT_LOGIN_FAILED', attemptsLeft: expected });
    }
    expect(device.token).toBeUndefined();
    expect((await vaultRow(s.database.db, alice.accountId))?.attempts_left).toBe(N - 2);

    const login = await vaultLogin(device, { username: 'ALICE', password: 'correct horse battery staple' });
    expect(login.accountId).toBe(alice.accountId);
    expect(Buffer.from(login.share).equals(Buffer.from(set.share))).toBe(true);
    expect(Buffer.from(login.exportKey).equals(Buffer.from(set.exportKey))).toBe(true);
    expect(login.attemptsLeft).toBe(N);
    expect(device.token).toEqual(expect.any(String));
    expect(await getVaultStatus(device)).toEqual({ hasPassword: true, attemptsLeft: N, maxAttempts: N });
    const session = await device.request<{ method: string; stepUpAt: number | null }>('GET', '/session');
    expect(session.method).toBe('password');
    expect(session.stepUpAt).toBeGreaterThan(0);

    // Every attempt is in the security log with the guesses left; the release too.
    const attempts = await events(s.database.db, alice.accountId, 'vault-attempt');
    expect(attempts.map((e) => e.detail['attemptsLeft'])).toEqual([N - 1, N - 2, N - 3]);
    expect(await events(s.database.db, alice.accountId, 'vault-set')).toHaveLength(1);
    expect(await events(s.database.db, alice.accountId, 'share-released')).toHaveLength(1);
    expect((await events(s.database.db, alice.accountId, 'sign-in'))[0]?.detail).toMatchObject({ method: 'password' });
  });

  test.skipIf(skip)('exactly N guesses: N − 1 wrong, the right one resets to N; N wrong erase the vault and the right one then fails', async () => {
    const bob = await signedInAccount(s.database.db, 'bob');
    const set = await setPassword(sdk(origin, bob.token), 'bob password');
    for (let i = 1; i < N; i++) expect((await rawStart(origin, 'bob')).body.attemptsLeft).toBe(N - i);
    expect((await vaultRow(s.database.db, bob.accountId))?.attempts_left).toBe(1);
    const login = await vaultLogin(sdk(origin), { username: 'bob', password: 'bob password' });
    expect(login.attemptsLeft).toBe(N);
    expect((await vaultRow(s.database.db, bob.accountId))?.attempts_left).toBe(N);

    const reported: number[] = [];
    for (let i = 0; i < N; i++) reported.push((await rawStart(origin, 'bob')).body.attemptsLeft ?? -1);
    expect(reported).toEqual(Array.from({ length: N }, (_, i) => N - 1 - i));
    expect(await vaultRow(s.database.db, bob.accountId)).toEqual({ attempts_left: 0, live: 1 });

    const error = await vaultLogin(sdk(origin), { username: 'bob', password: 'bob password' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_VAULT_LOGIN_FAILED', attemptsLeft: 0 });
    expect(await vaultRow(s.database.db, bob.accountId)).toEqual({ attempts_left: 0, live: 0 });
    const erased = await s.database.db.one<{ record: string | null; share: Uint8Array | null }>('SELECT record, share FROM vault_records WHERE account_id = ?', [bob.accountId]);
    expect(erased).toEqual({ record: null, share: null });
    expect(await events(s.database.db, bob.accountId, 'vault-erased')).toHaveLength(1);
    expect(await getVaultStatus(sdk(origin, bob.token))).toMatchObject({ hasPassword: false });
    expect(set.share).toHaveLength(32);
  });

  test.skipIf(skip)('100 concurrent wrong guesses against N = 10: exactly 10 taken, none refunded, no success', async () => {
    const carol = await signedInAccount(s.database.db, 'carol');
    await setPassword(sdk(origin, carol.token), 'carol password');
    const answers = await Promise.all(Array.from({ length: 100 }, () => rawStart(origin, 'carol')));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const left = answers.map((a) => a.body.attemptsLeft ?? -1).sort((a, b) => a - b);
    // Guesses 1…10 saw 9…0 left, each value once; the 90 others found none left.
    expect(left.filter((n) => n > 0)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(left.filter((n) => n === 0)).toHaveLength(91);

    const attempts = await events(s.database.db, carol.accountId, 'vault-attempt');
    const taken = attempts.filter((e) => e.detail['vault'] === 'live');
    expect(taken.map((e) => e.detail['attemptsLeft']).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(attempts.filter((e) => e.detail['vault'] === 'erased')).toHaveLength(90);
    expect(await events(s.database.db, carol.accountId, 'vault-erased')).toHaveLength(1);
    expect(await vaultRow(s.database.db, carol.accountId)).toEqual({ attempts_left: 0, live: 0 });
    // Only the 10 real guesses left a login that could ever have verified.
    const pending = await s.database.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM vault_logins WHERE account_id = ?', [carol.accountId]);
    expect(Number(pending?.n)).toBe(0);
    await expect(vaultLogin(sdk(origin), { username: 'carol', password: 'carol password' })).rejects.toMatchObject({ code: 'E_VAULT_LOGIN_FAILED' });
  });

  test.skipIf(skip)('an erased vault answers exactly like an unknown name and like an account without a password', async () => {
    const dave = await signedInAccount(s.database.db, 'dave');
    await setPassword(sdk(origin, dave.token), 'dave password');
    await signedInAccount(s.database.db, 'erin');
    // A live vault and a name nobody has, before anything is exhausted: same shape and size.
    const live = await rawStart(origin, 'dave');
    const unknown = await rawStart(origin, 'nobody-at-all');
    expect(Object.keys(live.body).sort()).toEqual(Object.keys(unknown.body).sort());
    expect(live.text.length).toBe(unknown.text.length);
    expect(live.body.attemptsLeft).toBe(unknown.body.attemptsLeft);
    for (let i = 1; i < N; i++) await rawStart(origin, 'dave');
    // N guesses spent; the next attempt erases the vault.
    const samples = { erased: [] as RawStart[], unknown: [] as RawStart[], noPassword: [] as RawStart[] };
    for (let i = 0; i < N + 2; i++) {
      samples.erased.push(await rawStart(origin, 'dave', 'dave password'));
      samples.unknown.push(await rawStart(origin, 'nobody-at-all', 'dave password'));
      samples.noPassword.push(await rawStart(origin, 'erin', 'dave password'));
    }
    expect((await vaultRow(s.database.db, dave.accountId))?.live).toBe(0);
    const all = [...samples.erased, ...samples.unknown, ...samples.noPassword];
    expect(new Set(all.map((a) => a.status))).toEqual(new Set([200]));
    expect(new Set(all.map((a) => Object.keys(a.body).sort().join(',')))).toEqual(new Set(['attemptsLeft,loginId,loginResponse']));
    // Byte lengths: the only variable part is attemptsLeft, which has one digit for every answer here (N = 10).
    expect(new Set(all.map((a) => a.text.length)).size).toBe(1);
    expect(new Set(all.map((a) => a.body.loginResponse?.length))).toEqual(new Set([427]));
    // The counters agree as well: an unknown name counts down from N and stays at 0, like the erased vault.
    expect(samples.erased.map((a) => a.body.attemptsLeft)).toEqual(Array(N + 2).fill(0));
    expect(samples.unknown.at(-1)?.body.attemptsLeft).toBe(0);
    expect(samples.noPassword.map((a) => a.body.attemptsLeft)).toEqual([...Array.from({ length: N }, (_, i) => N - 1 - i), 0, 0]);
    // Finishing any of them fails the same way.
    for (const start of [samples.erased[0], samples.unknown[0]]) {
      const finish = await fetch(`${origin}/api/v1/vault/login/finish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ loginId: start?.body.loginId, finishLoginRequest: 'A'.repeat(86) }),
      });
      expect(finish.status).toBe(401);
      expect(await finish.json()).toMatchObject({ error: { code: 'E_VAULT_LOGIN_FAILED' } });
    }
  });

  test.skipIf(skip)('a login is single-use, expires, and is bound to the password it started on', async () => {
    const frank = await signedInAccount(s.database.db, 'frank');
    const owner = sdk(origin, frank.token);
    await setPassword(owner, 'frank password');
    await opaque.ready;
    const finishBody = async (password: string) => {
      const { client } = opaque;
      const { clientLoginState, startLoginRequest } = client.startLogin({ password });
      const start = await owner.request<{ loginId: string; loginResponse: string }>('POST', '/vault/login/start', { username: 'frank', startLoginRequest });
      const finished = client.finishLogin({ clientLoginState, loginResponse: start.loginResponse, password });
      return { loginId: start.loginId, finishLoginRequest: finished?.finishLoginRequest ?? '', sessionKind: 'bearer' };
    };
    const once = await finishBody('frank password');
    const first = await sdk(origin).request<{ share: string }>('POST', '/vault/login/finish', once);
    expect(first.share).toEqual(expect.any(String));
    await expect(sdk(origin).request('POST', '/vault/login/finish', once)).rejects.toMatchObject({ code: 'E_CHALLENGE' });

    const late = await finishBody('frank password');
    await s.database.db.run('UPDATE vault_logins SET expires_at = ? WHERE id = ?', [Date.now() - 1, late.loginId]);
    await expect(sdk(origin).request('POST', '/vault/login/finish', late)).rejects.toMatchObject({ code: 'E_CHALLENGE' });

    // A login started under the old password cannot release the new password's share: setting a
    // password drops the logins in flight, and one that races past that is bound to the old generation.
    const old = await finishBody('frank password');
    const racing = await finishBody('frank password');
    const racingState = (await s.database.db.one<{ server_state: string }>('SELECT server_state FROM vault_logins WHERE id = ?', [racing.loginId]))?.server_state ?? '';
    await setPassword(owner, 'frank new password');
    await expect(sdk(origin).request('POST', '/vault/login/finish', old)).rejects.toMatchObject({ code: 'E_CHALLENGE' });
    await s.database.db.run('INSERT INTO vault_logins (id, account_id, generation, server_state, created_at, expires_at) SELECT ?, account_id, generation - 1, ?, 0, ? FROM vault_records WHERE account_id = ?', [
      racing.loginId,
      racingState,
      Date.now() + 60_000,
      frank.accountId,
    ]);
    await expect(sdk(origin).request('POST', '/vault/login/finish', racing)).rejects.toMatchObject({ code: 'E_VAULT_LOGIN_FAILED' });
    expect((await events(s.database.db, frank.accountId, 'password-changed')).length).toBe(1);
    // The server state never reached the client: nothing but the id and KE2 came back.
    expect(Object.keys(first).sort()).toEqual(['accountId', 'attemptsLeft', 'session', 'share']);
  });

  test.skipIf(skip)('setting a password needs a session, a fresh step-up and a username; a malformed record is refused', async () => {
    const plain = await signedInAccount(s.database.db, 'grace', { steppedUp: false });
    await expect(setPassword(sdk(origin, plain.token), 'pw')).rejects.toMatchObject({ code: 'E_STEP_UP_REQUIRED' });
    await expect(setPassword(sdk(origin), 'pw')).rejects.toMatchObject({ code: 'E_UNAUTHENTICATED' });
    const nameless = await signedInAccount(s.database.db, undefined);
    await expect(setPassword(sdk(origin, nameless.token), 'pw')).rejects.toMatchObject({ code: 'E_BAD_REQUEST' });
    const stepped = await signedInAccount(s.database.db, 'heidi');
    const garbage = await sdk(origin, stepped.token)
      .request('POST', '/vault/registration/finish', { registrationRecord: 'A'.repeat(256) })
      .catch((e: unknown) => e);
    expect(garbage).toMatchObject({ code: 'E_BAD_REQUEST' });
    expect(await vaultRow(s.database.db, stepped.accountId)).toBeUndefined();
  });
});
