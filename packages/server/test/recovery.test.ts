import {
  createAccountWithRecoveryKey,
  getSession,
  listRecoveryKeys,
  registerRecoveryKey,
  removeRecoveryKey,
  setPassword,
  signInWithRecoveryKey,
  stepUpWithRecoveryKey,
  toBase64Url,
  vaultLogin,
} from '@coffer/client';
import { deriveRecoverySigningKey, fromHex, generateRecoveryKey, signRecoveryChallenge, type RecoveryKey } from '@coffer/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSession } from '../src/accounts/sessions.ts';
import { DIALECTS, postgresReachable } from './databases.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { events, sdk, signedInAccount } from './vault-helpers.ts';

/**
 * Recovery-key sign-in through the SDK against a listening server, on SQLite
 * and PostgreSQL: account creation without a passkey, sign-in with and without
 * a username, step-up, adding and removing keys (never the last unlock
 * method), and the refusals — a wrong key, a removed key, a replayed or
 * misdirected signature.
 */
const pgUp = await postgresReachable();

describe.each(DIALECTS)('recovery-key sign-in on %s', (dialect) => {
  const skip = dialect === 'postgres' && !pgUp;
  let s: TestServer;
  let origin: string;
  beforeAll(async () => {
    if (skip) return;
    s = await startTestServer(dialect);
    origin = await s.listen();
  });
  afterAll(async () => {
    if (!skip) await s.close();
  });

  test.skipIf(skip)('create an account from a recovery key, sign in on a new device, add a second key, remove the first', async () => {
    const first = generateRecoveryKey();
    const cli = sdk(origin);
    const created = await createAccountWithRecoveryKey(cli, { recoveryKey: first.text, username: 'Olivia', label: 'Printed key' });
    expect(created.recoveryKey).toMatchObject({ label: 'Printed key', lastUsedAt: null });
    expect(await getSession(cli)).toMatchObject({ accountId: created.accountId, username: 'olivia', method: 'recovery-key' });

    // A new device with nothing but the key: no username needed, or a matching one.
    const phone = sdk(origin);
    const signedIn = await signInWithRecoveryKey(phone, { recoveryKey: first.text.toLowerCase().replaceAll('-', ' ') });
    expect(signedIn.accountId).toBe(created.accountId);
    expect(signedIn.recoveryKeyId).toBe(created.recoveryKey.id);
    expect((await signInWithRecoveryKey(sdk(origin), { recoveryKey: first, username: 'OLIVIA' })).accountId).toBe(created.accountId);
    // The server keeps only the public key; a sign-in is also a step-up.
    const stored = await s.database.db.one<{ public_key: Uint8Array }>('SELECT public_key FROM recovery_keys WHERE id = ?', [created.recoveryKey.id]);
    expect(Buffer.from(stored?.public_key ?? []).equals(Buffer.from((await deriveRecoverySigningKey(first)).publicKey))).toBe(true);
    expect((await getSession(phone)).stepUpAt).toBeGreaterThan(0);

    const second = generateRecoveryKey();
    const added = await registerRecoveryKey(phone, { recoveryKey: second, label: 'Safe' });
    expect((await listRecoveryKeys(phone)).map((k) => k.label)).toEqual(['Printed key', 'Safe']);
    await removeRecoveryKey(phone, created.recoveryKey.id);
    await expect(signInWithRecoveryKey(sdk(origin), { recoveryKey: first })).rejects.toMatchObject({ code: 'E_UNAUTHENTICATED' });
    expect((await signInWithRecoveryKey(sdk(origin), { recoveryKey: second })).recoveryKeyId).toBe(added.id);
    // The last unlock method stays.
    await expect(removeRecoveryKey(phone, added.id)).rejects.toMatchObject({ code: 'E_LAST_UNLOCK_METHOD' });

    const log = await events(s.database.db, created.accountId, 'sign-in');
    expect(log.map((e) => e.detail['method'])).toEqual(['recovery-key', 'recovery-key', 'recovery-key', 'recovery-key']);
    expect(await events(s.database.db, created.accountId, 'recovery-key-removed')).toHaveLength(1);
  });

  test.skipIf(skip)('a wrong key, a wrong username and another account are refused; a key belongs to one account only', async () => {
    const key = generateRecoveryKey();
    const paul = await createAccountWithRecoveryKey(sdk(origin), { recoveryKey: key, username: 'paul' });
    await expect(signInWithRecoveryKey(sdk(origin), { recoveryKey: generateRecoveryKey() })).rejects.toMatchObject({ code: 'E_UNAUTHENTICATED' });
    await expect(signInWithRecoveryKey(sdk(origin), { recoveryKey: key, username: 'olivia' })).rejects.toMatchObject({ code: 'E_UNAUTHENTICATED' });
    await expect(createAccountWithRecoveryKey(sdk(origin), { recoveryKey: key, username: 'paul2' })).rejects.toMatchObject({ code: 'E_CONFLICT' });
    expect(await s.database.db.one('SELECT id FROM accounts WHERE username = ?', ['paul2'])).toBeUndefined();
    // Another account cannot step up with Paul's key, nor register it.
    const quinn = await signedInAccount(s.database.db, 'quinn', { steppedUp: false });
    await expect(stepUpWithRecoveryKey(sdk(origin, quinn.token), key)).rejects.toMatchObject({ code: 'E_FORBIDDEN' });
    const steppedQuinn = await signedInAccount(s.database.db, 'quinn2');
    await expect(registerRecoveryKey(sdk(origin, steppedQuinn.token), { recoveryKey: key })).rejects.toMatchObject({ code: 'E_CONFLICT' });
    expect(await events(s.database.db, paul.accountId, 'sign-in-failed')).toHaveLength(1);
  });

  test.skipIf(skip)('step-up: adding a key needs a fresh one, and a signature by one of the account\'s keys gives it', async () => {
    const key = generateRecoveryKey();
    const rita = await createAccountWithRecoveryKey(sdk(origin), { recoveryKey: key, username: 'rita' });
    // A later session of Rita's without a fresh proof (a cookie from last week, say).
    const { token } = await createSession(s.database.db, { accountId: rita.accountId, kind: 'bearer', method: 'passkey', device: 'old laptop', clientAddress: '127.0.0.1', ttlMs: 60_000, steppedUp: false });
    const later = sdk(origin, token);
    await expect(registerRecoveryKey(later, { recoveryKey: generateRecoveryKey() })).rejects.toMatchObject({ code: 'E_STEP_UP_REQUIRED' });
    await expect(stepUpWithRecoveryKey(later, generateRecoveryKey())).rejects.toMatchObject({ code: 'E_FORBIDDEN' });
    const { stepUpAt } = await stepUpWithRecoveryKey(later, key);
    expect(stepUpAt).toBeGreaterThan(Date.now() - 60_000);
    await registerRecoveryKey(later, { recoveryKey: generateRecoveryKey() });
    expect(await listRecoveryKeys(later)).toHaveLength(2);
    expect((await events(s.database.db, rita.accountId, 'step-up'))[0]?.detail).toMatchObject({ method: 'recovery-key' });
  });

  test.skipIf(skip)('challenges are single-use, bound to their purpose and session, and signatures to this origin', async () => {
    const key = generateRecoveryKey();
    await createAccountWithRecoveryKey(sdk(origin), { recoveryKey: key, username: 'sam' });
    const pair = await deriveRecoverySigningKey(key);
    const raw = sdk(origin);
    const proof = async (purpose: 'sign-in' | 'register', signedFor = { origin, purpose }) => {
      const { challenge } = await raw.request<{ challenge: string }>('POST', '/recovery-keys/challenges', { purpose });
      const signature = await signRecoveryChallenge(pair, { origin: signedFor.origin, purpose: signedFor.purpose, challenge: Buffer.from(challenge, 'base64url') });
      return { challenge, publicKey: toBase64Url(pair.publicKey), signature: toBase64Url(signature) };
    };
    const good = await proof('sign-in');
    await raw.request('POST', '/recovery-keys/sign-in', good);
    await expect(raw.request('POST', '/recovery-keys/sign-in', good)).rejects.toMatchObject({ code: 'E_CHALLENGE' });
    // Signed for a look-alike origin or for another purpose: refused, and the challenge is spent.
    const phished = await proof('sign-in', { origin: 'http://localhost.evil.example', purpose: 'sign-in' });
    await expect(raw.request('POST', '/recovery-keys/sign-in', phished)).rejects.toMatchObject({ code: 'E_UNAUTHENTICATED' });
    const misused = await proof('sign-in', { origin, purpose: 'register' });
    await expect(raw.request('POST', '/recovery-keys/sign-in', misused)).rejects.toMatchObject({ code: 'E_UNAUTHENTICATED' });
    await expect(raw.request('POST', '/recovery-keys/sign-in', misused)).rejects.toMatchObject({ code: 'E_CHALLENGE' });
    // A register challenge needs a session and works only in the session that asked for it.
    await expect(proof('register')).rejects.toMatchObject({ code: 'E_UNAUTHENTICATED' });
    const tess = await signedInAccount(s.database.db, 'tess');
    const ursula = await signedInAccount(s.database.db, 'ursula');
    const { challenge } = await sdk(origin, tess.token).request<{ challenge: string }>('POST', '/recovery-keys/challenges', { purpose: 'register' });
    const other = await deriveRecoverySigningKey(generateRecoveryKey());
    const signature = await signRecoveryChallenge(other, { origin, purpose: 'register', challenge: Buffer.from(challenge, 'base64url') });
    const body = { challenge, publicKey: toBase64Url(other.publicKey), signature: toBase64Url(signature) };
    await expect(sdk(origin, ursula.token).request('POST', '/recovery-keys', body)).rejects.toMatchObject({ code: 'E_CHALLENGE' });
    await sdk(origin, tess.token).request('POST', '/recovery-keys', body);
    // Small-order keys prove nothing.
    const { challenge: c2 } = await raw.request<{ challenge: string }>('POST', '/recovery-keys/challenges', { purpose: 'create-account' });
    const weak = { challenge: c2, publicKey: toBase64Url(fromHex('01'.padEnd(64, '0'))), signature: toBase64Url(new Uint8Array(64)) };
    await expect(raw.request('POST', '/recovery-keys/accounts', weak)).rejects.toMatchObject({ code: 'E_FORBIDDEN' });
  });

  test.skipIf(skip)('a recovery-key account can add a password; the recovery key never releases the vault share', async () => {
    const key: RecoveryKey = generateRecoveryKey();
    const device = sdk(origin);
    const victor = await createAccountWithRecoveryKey(device, { recoveryKey: key, username: 'victor' });
    const set = await setPassword(device, 'victor password');
    const signedIn = await device.request<Record<string, unknown>>('POST', '/recovery-keys/sign-in', await (async () => {
      const pair = await deriveRecoverySigningKey(key);
      const { challenge } = await device.request<{ challenge: string }>('POST', '/recovery-keys/challenges', { purpose: 'sign-in' });
      const signature = await signRecoveryChallenge(pair, { origin, purpose: 'sign-in', challenge: Buffer.from(challenge, 'base64url') });
      return { challenge, publicKey: toBase64Url(pair.publicKey), signature: toBase64Url(signature) };
    })());
    expect(Object.keys(signedIn).sort()).toEqual(['accountId', 'recoveryKeyId', 'session']);
    const login = await vaultLogin(sdk(origin), { username: 'victor', password: 'victor password' });
    expect(Buffer.from(login.share).equals(Buffer.from(set.share))).toBe(true);
    // Two methods now: the recovery key may go, the password then is the last one.
    await removeRecoveryKey(device, victor.recoveryKey.id);
    await expect(device.request('DELETE', '/vault')).rejects.toMatchObject({ code: 'E_LAST_UNLOCK_METHOD' });
    expect(await events(s.database.db, victor.accountId, 'share-released')).toHaveLength(1);
  });
});
