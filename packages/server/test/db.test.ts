import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { accountById, accountByUserHandle, accountByUsername, createAccount } from '../src/accounts/accounts.ts';
import { createSession, listSessions, markSteppedUp, revokeSession, sessionByToken } from '../src/accounts/sessions.ts';
import { migrate } from '../src/db/migrate.ts';
import { logSecurityEvent, readSecurityLog, BURST_THRESHOLD } from '../src/security-log/security-log.ts';
import { createTestDatabase, DIALECTS, postgresReachable, type TestDatabase } from './databases.ts';

const pgUp = await postgresReachable();

/** The repository conformance suite for the shared tables: the same cases on SQLite and on PostgreSQL. */
describe.each(DIALECTS)('repository layer on %s', (dialect) => {
  const skip = dialect === 'postgres' && !pgUp;
  let t: TestDatabase;
  beforeEach(async () => {
    if (!skip) t = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    if (!skip) await t.drop();
  });

  test.skipIf(skip)('migrations are idempotent and recorded once', async () => {
    expect(await migrate(t.db)).toEqual([]);
    const rows = await t.db.all<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id');
    expect(rows.map((r) => r.id)).toContain('001-accounts');
  });

  test.skipIf(skip)('accounts: unique usernames (case-folded), lookups by id, name and user handle', async () => {
    const a = await createAccount(t.db, { username: 'Alice' });
    expect(a.username).toBe('alice');
    expect(a.userHandle).toHaveLength(32);
    await expect(createAccount(t.db, { username: 'ALICE' })).rejects.toMatchObject({ code: 'E_CONFLICT' });
    expect((await accountByUsername(t.db, 'alice'))?.id).toBe(a.id);
    expect((await accountById(t.db, a.id))?.userHandle).toEqual(a.userHandle);
    expect((await accountByUserHandle(t.db, a.userHandle))?.id).toBe(a.id);
    expect(await accountByUsername(t.db, 'bob')).toBeUndefined();
    // Accounts without a username (username-less passkey sign-up) do not collide with each other.
    await createAccount(t.db, {});
    await createAccount(t.db, {});
  });

  test.skipIf(skip)('sessions: token resolves until revoked or expired; only a hash is stored; step-up recorded', async () => {
    const a = await createAccount(t.db, { username: 'alice' });
    const base = { accountId: a.id, kind: 'bearer', method: 'passkey', device: 'test', clientAddress: '127.0.0.1', steppedUp: false } as const;
    const { token, session } = await createSession(t.db, { ...base, ttlMs: 60_000 });
    expect((await sessionByToken(t.db, token))?.id).toBe(session.id);
    const stored = await t.db.all<{ token_hash: Uint8Array }>('SELECT token_hash FROM sessions');
    expect(new TextDecoder().decode(stored[0]?.token_hash)).not.toContain(token);
    expect(await sessionByToken(t.db, `${token}x`)).toBeUndefined();
    await markSteppedUp(t.db, session.id, 'passkey');
    expect((await sessionByToken(t.db, token))?.stepUpAt).toBeGreaterThan(0);
    expect(await listSessions(t.db, a.id)).toHaveLength(1);
    expect(await revokeSession(t.db, a.id, session.id)).toBe(true);
    expect(await revokeSession(t.db, a.id, session.id)).toBe(false);
    expect(await sessionByToken(t.db, token)).toBeUndefined();
    const expired = await createSession(t.db, { ...base, ttlMs: -1 });
    expect(await sessionByToken(t.db, expired.token)).toBeUndefined();
    // Another account cannot revoke it.
    const b = await createAccount(t.db, { username: 'bob' });
    const live = await createSession(t.db, { ...base, ttlMs: 60_000 });
    expect(await revokeSession(t.db, b.id, live.session.id)).toBe(false);
  });

  test.skipIf(skip)('security log: newest first, paging, new-device and failure-burst flags', async () => {
    const a = await createAccount(t.db, { username: 'alice' });
    const at = { accountId: a.id, clientAddress: '10.0.0.1' };
    expect((await logSecurityEvent(t.db, { ...at, type: 'account-created', device: 'phone' })).flags).toEqual([]);
    expect((await logSecurityEvent(t.db, { ...at, type: 'sign-in', device: 'phone' })).flags).toEqual([]);
    expect((await logSecurityEvent(t.db, { ...at, type: 'sign-in', device: 'laptop' })).flags).toEqual(['new-device']);
    const flags: string[][] = [];
    for (let i = 0; i < BURST_THRESHOLD; i++) {
      flags.push((await logSecurityEvent(t.db, { ...at, type: 'sign-in-failed', device: 'laptop', detail: { attempt: i } })).flags);
    }
    expect(flags.slice(0, -1).every((f) => !f.includes('failure-burst'))).toBe(true);
    expect(flags.at(-1)).toContain('failure-burst');
    const page1 = await readSecurityLog(t.db, a.id, { limit: 3 });
    expect(page1.map((e) => e.type)).toEqual(['sign-in-failed', 'sign-in-failed', 'sign-in-failed']);
    expect(page1[0]?.detail).toMatchObject({ attempt: 4, failure: true });
    const rest = await readSecurityLog(t.db, a.id, { limit: 100, before: page1.at(-1)?.id });
    expect(rest).toHaveLength(3 + BURST_THRESHOLD - 3);
    expect(rest.at(-1)?.type).toBe('account-created');
    // Vault guesses are judged by their counter: five in a row without a verified login is a burst,
    // while any number of logins that each verified (the counter back at the maximum) is not.
    const vault = (attemptsLeft: number) => logSecurityEvent(t.db, { ...at, type: 'vault-attempt', device: 'laptop', detail: { attemptsLeft, maxAttempts: 10 } });
    for (let i = 0; i < 8; i++) expect((await vault(9)).flags).toEqual([]);
    expect((await vault(6)).flags).toEqual([]);
    expect((await vault(5)).flags).toEqual(['failure-burst']);
  });

  test.skipIf(skip)('transactions roll back on error and serialize concurrent read-modify-write', async () => {
    const a = await createAccount(t.db, { username: 'alice' });
    await expect(
      t.db.transaction(async (tx) => {
        await tx.run('UPDATE accounts SET display_name = ? WHERE id = ?', ['changed', a.id]);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await accountById(t.db, a.id))?.displayName).toBe('alice');
    // 20 concurrent conditional decrements of a counter that starts at 10: exactly 10 succeed.
    await t.db.run('CREATE TABLE counter_probe (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
    await t.db.run('INSERT INTO counter_probe (id, n) VALUES (1, 10)');
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.db.transaction(async (tx) => (await tx.one('UPDATE counter_probe SET n = n - 1 WHERE id = 1 AND n > 0 RETURNING n')) !== undefined),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(await t.db.one('SELECT n FROM counter_probe')).toEqual({ n: 0 });
  });
});
