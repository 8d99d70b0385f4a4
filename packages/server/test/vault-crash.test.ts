import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setPassword, vaultLogin } from '@coffer/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { spawnServer } from './crash-server.ts';
import { createTestDatabase, DIALECTS, postgresReachable, type TestDatabase } from './databases.ts';
import { freePort } from './harness.ts';
import { events, rawStart, sdk, signedInAccount, vaultRow } from './vault-helpers.ts';

/**
 * kill -9 between the decrement and the reply (security test plan §E): the
 * real server runs as a child process with COFFER_TEST_CRASH_AFTER_DECREMENT=1,
 * which makes it SIGKILL itself right after a login's guess was committed and
 * before answering. After each crash the guess must still be gone; after a
 * restart (same database, so the same persisted OPAQUE setup) the right
 * password still works and the counter shows no refund. The password is set
 * through an in-process server on the same database (spawning costs seconds
 * on a busy machine); every crash and the restart are real processes.
 */
const pgUp = await postgresReachable();
const N = 10;
const CRASHES = 2;

describe.each(DIALECTS)('vault guesses survive a crash on %s', (dialect) => {
  const skip = dialect === 'postgres' && !pgUp;
  let t: TestDatabase;
  let dataDir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    if (skip) return;
    t = await createTestDatabase(dialect);
    // SQLite: the server opens <data dir>/coffer.sqlite, the very file the test database is.
    dataDir = dialect === 'sqlite' ? dirname(t.location) : mkdtempSync(join(tmpdir(), 'coffer-crash-'));
    env = { COFFER_DATA_DIR: dataDir, COFFER_VAULT_MAX_ATTEMPTS: String(N), ...(dialect === 'postgres' ? { DATABASE_URL: t.location } : {}) };
  });
  afterAll(async () => {
    if (skip) return;
    await t.drop();
    if (dialect === 'postgres') rmSync(dataDir, { recursive: true, force: true });
  });

  test.skipIf(skip)(`${String(CRASHES)} crashes after the decrement: no reply, no refund; the setup survives restarts`, async () => {
    const victim = await signedInAccount(t.db, 'victim');
    const port = await freePort();
    const setup = await buildApp({ config: loadConfig({ ...env, PORT: String(port) }), db: t.db, logger: false });
    try {
      await setup.listen({ host: '127.0.0.1', port });
      await setPassword(sdk(`http://localhost:${String(port)}`, victim.token), 'victim password');
    } finally {
      await setup.close();
    }

    for (let crash = 1; crash <= CRASHES; crash++) {
      const doomed = await spawnServer({ ...env, COFFER_TEST_CRASH_AFTER_DECREMENT: '1' });
      const answer = await rawStart(doomed.origin, 'victim').then(
        (a) => a,
        (error: unknown) => error,
      );
      // The client never got an answer: the connection died with the process.
      expect(answer).toBeInstanceOf(TypeError);
      expect(await doomed.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(doomed.output()).toContain('COFFER_TEST_CRASH_AFTER_DECREMENT');
      expect(await vaultRow(t.db, victim.accountId)).toEqual({ attempts_left: N - crash, live: 1 });
    }
    expect((await events(t.db, victim.accountId, 'vault-attempt')).map((e) => e.detail['attemptsLeft'])).toEqual([9, 8]);

    const restarted = await spawnServer(env);
    try {
      expect((await rawStart(restarted.origin, 'victim')).body.attemptsLeft).toBe(N - CRASHES - 1);
      const login = await vaultLogin(sdk(restarted.origin), { username: 'victim', password: 'victim password' });
      expect(login.attemptsLeft).toBe(N);
      expect(login.accountId).toBe(victim.accountId);
    } finally {
      await restarted.stop();
    }
    const setups = await t.db.all('SELECT id FROM vault_setup');
    expect(setups).toHaveLength(1);
  });
});
