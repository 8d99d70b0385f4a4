/**
 * The append-only backup store: the engine's storage conformance suite through
 * the `coffer:` driver against a real listening server (SQLite and
 * PostgreSQL), then what makes it append-only — no overwrite, deletes only
 * with a step-up and only softly, restore inside the retention window, purge
 * after it, quota and size limits, byte ranges.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CofferStorage } from '@coffer/engine/coffer';
import { createAccount } from '../src/accounts/accounts.ts';
import { createSession } from '../src/accounts/sessions.ts';
import { purgeExpired } from '../src/store/purge.ts';
import { LocalBlobStore } from '../src/store/local-blob-store.ts';
import { readSecurityLog } from '../src/security-log/security-log.ts';
import { startS3rver, type RunningS3rver } from '../../engine/test/s3rver-server.ts';
import { s3Error, startFaultProxy, type FaultAction, type FaultProxy } from '../../engine/test/storage-fault-proxy.ts';
import { collect, expectBytes, expectCode, pattern, storageConformance } from '../../engine/test/storage-conformance.ts';
import { DIALECTS, postgresReachable } from './databases.ts';
import { startTestServer, type TestServer } from './harness.ts';

const pgUp = await postgresReachable();
const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 5 };

async function signedIn(server: TestServer, options: { steppedUp: boolean; accountId?: string }): Promise<{ accountId: string; token: string }> {
  const accountId = options.accountId ?? (await createAccount(server.database.db, {})).id;
  const { token } = await createSession(server.database.db, {
    accountId,
    kind: 'bearer',
    method: 'passkey',
    device: 'store test',
    clientAddress: '127.0.0.1',
    ttlMs: 3_600_000,
    steppedUp: options.steppedUp,
  });
  return { accountId, token };
}

function driver(server: TestServer, token: string): CofferStorage {
  return new CofferStorage({ url: server.origin, token, retry: FAST_RETRY });
}

for (const dialect of DIALECTS) {
  const skip = dialect === 'postgres' && !pgUp;
  describe.skipIf(skip)(`backup store on ${dialect}`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(dialect, { COFFER_STORE_RETENTION_DAYS: '30' });
      await server.listen();
    });
    afterAll(async () => {
      await server.close();
    });

    // The conformance suite deletes objects, so its sessions carry a fresh step-up.
    storageConformance(`coffer (${dialect})`, async () => driver(server, (await signedIn(server, { steppedUp: true })).token), { manyObjects: 1200 });

    test('an ordinary session cannot overwrite or delete; a lock it can remove', async () => {
      const { token } = await signedIn(server, { steppedUp: false });
      const store = driver(server, token);
      await store.put('data/aa/pack', pattern(1000, 1));
      await expectCode(store.put('data/aa/pack', pattern(1000, 2)), 'E_STORAGE_EXISTS');
      await expectCode(store.delete('data/aa/pack'), 'E_STEP_UP_REQUIRED');
      await expectCode(store.delete('snapshots/0000000001-ab'), 'E_STEP_UP_REQUIRED');
      expectBytes(await store.get('data/aa/pack'), pattern(1000, 1));
      await store.put('locks/abc', pattern(10, 3));
      await store.delete('locks/abc');
      expect(await store.stat('locks/abc')).toBeUndefined();
    });

    test('a soft-deleted object is restorable inside the window, gone after the purge; usage counts it until then', async () => {
      const { accountId, token } = await signedIn(server, { steppedUp: true });
      const store = driver(server, token);
      await store.put('data/bb/keep', pattern(3000, 4));
      await store.put('data/bb/drop', pattern(5000, 5));
      await store.delete('data/bb/drop');
      expect((await collect(store.list('data/'))).map((o) => o.name)).toEqual(['data/bb/keep']);
      const auth = { authorization: `Bearer ${token}` };
      const deleted = await fetch(`${server.origin}/api/v1/store/deleted`, { headers: auth }).then((r) => r.json() as Promise<{ objects: { name: string }[] }>);
      expect(deleted.objects.map((o) => o.name)).toEqual(['data/bb/drop']);
      const usage = await fetch(`${server.origin}/api/v1/store/usage`, { headers: auth }).then((r) => r.json() as Promise<{ usedBytes: number }>);
      expect(usage.usedBytes).toBe(8000);
      // Restore it, delete it again, and let the window pass.
      const restored = await fetch(`${server.origin}/api/v1/store/restore`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'data/bb/drop' }) });
      expect(restored.status).toBe(200);
      expectBytes(await store.get('data/bb/drop'), pattern(5000, 5));
      await store.delete('data/bb/drop');
      const blobs = new LocalBlobStore(server.config.blobDir);
      expect(await purgeExpired(server.database.db, blobs, Date.now() + 29 * 86_400_000)).toBe(0);
      expect(await purgeExpired(server.database.db, blobs, Date.now() + 31 * 86_400_000)).toBeGreaterThanOrEqual(1);
      const again = await fetch(`${server.origin}/api/v1/store/restore`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'data/bb/drop' }) });
      expect(again.status).toBe(404);
      expectBytes(await store.get('data/bb/keep'), pattern(3000, 4));
      const log = await readSecurityLog(server.database.db, accountId, { limit: 20 });
      expect(log.map((e) => e.type)).toEqual(expect.arrayContaining(['store-deleted', 'store-restored', 'store-purged']));
    });

    test('a replaced versioned object keeps its earlier body restorable', async () => {
      const { token } = await signedIn(server, { steppedUp: false });
      const store = driver(server, token);
      const v1 = await store.swap('config', pattern(100, 6), null);
      await store.swap('config', pattern(100, 7), v1);
      expectBytes((await store.getVersioned('config'))?.body ?? new Uint8Array(), pattern(100, 7));
      const deleted = await fetch(`${server.origin}/api/v1/store/deleted`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json() as Promise<{ objects: { name: string }[] }>);
      expect(deleted.objects.map((o) => o.name)).toEqual(['config']);
    });

    test('accounts are separate namespaces', async () => {
      const a = driver(server, (await signedIn(server, { steppedUp: false })).token);
      const b = driver(server, (await signedIn(server, { steppedUp: false })).token);
      await a.put('snapshots/x', pattern(10, 8));
      expect(await b.stat('snapshots/x')).toBeUndefined();
      await b.put('snapshots/x', pattern(10, 9));
      expectBytes(await a.get('snapshots/x'), pattern(10, 8));
    });

    test('without a session: E_STORAGE_DENIED, nothing stored', async () => {
      const store = driver(server, 'not-a-token');
      await expectCode(store.put('data/cc/x', pattern(10, 1)), 'E_STORAGE_DENIED');
      await expectCode(store.get('data/cc/x'), 'E_STORAGE_DENIED');
    });
  });
}

describe('backup store limits (SQLite)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite', { COFFER_STORE_QUOTA_MB: '1', COFFER_STORE_MAX_OBJECT_MB: '1' });
    await server.listen();
  });
  afterAll(async () => {
    await server.close();
  });

  test('quota and object size: E_STORAGE_FULL and E_TOO_LARGE, nothing half-stored', async () => {
    const { token } = await signedIn(server, { steppedUp: false });
    const store = driver(server, token);
    await expectCode(store.put('data/dd/huge', new Uint8Array(1024 * 1024 + 1)), 'E_TOO_LARGE');
    await store.put('data/dd/a', new Uint8Array(700 * 1024));
    await expectCode(store.put('data/dd/b', new Uint8Array(400 * 1024)), 'E_STORAGE_FULL');
    expect((await collect(store.list(''))).map((o) => o.name)).toEqual(['data/dd/a']);
  });

  test('a body shorter than its Content-Length is refused and leaves nothing', async () => {
    const { token } = await signedIn(server, { steppedUp: false });
    const { request } = await import('node:http');
    const url = new URL(`${server.origin}/api/v1/store/objects/data/ee/short`);
    const status = await new Promise<number | string>((resolve) => {
      const req = request(url, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': '1000' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (error) => {
        resolve(error.message);
      });
      req.write(new Uint8Array(500));
      setTimeout(() => req.destroy(), 200);
    });
    expect(status).toBeDefined();
    const store = driver(server, token);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await store.stat('data/ee/short')).toBeUndefined();
  });
});

describe('backup store on S3-compatible blobs (s3rver behind a faulty proxy)', () => {
  let server: TestServer;
  let s3: RunningS3rver | undefined;
  let proxy: FaultProxy | undefined;
  let dir: string;
  let faults = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-store-s3-'));
    s3 = await startS3rver(dir);
    expect((await fetch(`http://127.0.0.1:${String(s3.port)}/blobs`, { method: 'PUT' })).status).toBe(200);
    // Every 7th request to S3 fails (alternately a reset and a 503): the server must retry them all away.
    proxy = await startFaultProxy(s3.port, (_request, index) => (index % 7 === 3 ? (faults++ % 2 === 0 ? 'reset' : { status: 503, body: '' }) : 'pass'));
    server = await startTestServer('sqlite', {
      COFFER_BLOB_STORE: 's3://blobs/coffer',
      COFFER_S3_ENDPOINT: `http://127.0.0.1:${String(proxy.port)}`,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    });
    await server.listen();
  });
  afterAll(async () => {
    await server.close();
    await proxy?.close();
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  storageConformance('coffer (S3 blobs)', async () => driver(server, (await signedIn(server, { steppedUp: true })).token), { manyObjects: 1001 });

  test('the faults really happened, and no spooled or half-written body is left', async () => {
    expect(faults).toBeGreaterThan(10);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(join(server.config.dataDir, 'spool')).catch(() => [])).toEqual([]);
  });
});

describe('backup store whose S3 backend fails for good', () => {
  let server: TestServer;
  let s3: RunningS3rver | undefined;
  let proxy: FaultProxy | undefined;
  let dir: string;
  let answer: FaultAction = 'pass';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-store-s3-down-'));
    s3 = await startS3rver(dir);
    expect((await fetch(`http://127.0.0.1:${String(s3.port)}/secret-bucket-name`, { method: 'PUT' })).status).toBe(200);
    proxy = await startFaultProxy(s3.port, () => answer);
    server = await startTestServer('sqlite', {
      COFFER_BLOB_STORE: 's3://secret-bucket-name/coffer',
      COFFER_S3_ENDPOINT: `http://127.0.0.1:${String(proxy.port)}`,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    });
    await server.listen();
  });
  afterAll(async () => {
    await server.close();
    await proxy?.close();
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // Retries used up (503s) and refused credentials (403) are the server's failure, not the
  // request's: a 503 the client may retry, a message that names no bucket or key, nothing stored.
  for (const [label, fault] of [
    ['every request answered 503', { status: 503, body: '' }],
    ['credentials refused', s3Error(403, 'AccessDenied')],
  ] as const) {
    test(`${label}: 503 E_STORAGE_UNAVAILABLE, generic message, nothing stored`, async () => {
      const { token } = await signedIn(server, { steppedUp: false });
      answer = fault;
      const response = await fetch(`${server.origin}/api/v1/store/objects/data/ab/down`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        // A copy over a plain ArrayBuffer: fetch's BodyInit takes no view of a possibly shared buffer.
        body: new Uint8Array(pattern(1000, 3)),
      });
      answer = 'pass';
      expect(response.status).toBe(503);
      const text = await response.text();
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'E_STORAGE_UNAVAILABLE' } });
      expect(text).not.toMatch(/secret-bucket-name|data\/ab\/down|coffer\//);
      expect(await driver(server, token).stat('data/ab/down')).toBeUndefined();
    });
  }
});
