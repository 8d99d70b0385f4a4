/**
 * WebDavStorage against Debian's `rclone serve webdav` (started here on a free
 * loopback port, with Basic auth, over a temp directory): the conformance
 * suite, rclone specifics, fault tests through a proxy, and URL parsing.
 */
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebDavStorage, type WebDavStorageOptions } from '../src/storage/webdav.ts';
import { parseWebDavUrl } from '../src/storage/webdav-url.ts';
import { collect, expectBytes, expectCode, pattern, storageConformance } from './storage-conformance.ts';
import { startFaultProxy, type FaultAction, type FaultProxy } from './storage-fault-proxy.ts';
import { startWebDav, type RunningWebDav } from './webdav-server.ts';

const USER = 'coffer';
const PASSWORD = 'correct-horse-battery-staple';
let directory = '';
let server: RunningWebDav | undefined;
let stores = 0;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'coffer-webdav-'));
  // What a crash leaves behind, put on disk before rclone starts: rclone caches
  // directory listings, so files written behind its back later stay unseen.
  const data = join(directory, 'leftovers', 'data');
  await mkdir(data, { recursive: true });
  await writeFile(join(data, 'real'), pattern(10, 4));
  await writeFile(join(data, '.coffer-tmp~0123456789abcdef'), pattern(5, 5));
  await writeFile(join(data, '.coffer-tmp~fedcba9876543210'), pattern(5, 5));
  const anHourAgo = new Date(Date.now() - 3_600_000);
  await utimes(join(data, '.coffer-tmp~0123456789abcdef'), anHourAgo, anHourAgo);
  server = await startWebDav(directory, USER, PASSWORD);
});

afterAll(async () => {
  await server?.stop();
  await rm(directory, { recursive: true, force: true });
});

function base(port = server?.port ?? 0): string {
  return `http://127.0.0.1:${String(port)}/`;
}

/** A store in its own, not yet existing, collection. */
function storage(overrides: Partial<WebDavStorageOptions> = {}, port?: number): WebDavStorage {
  return new WebDavStorage({
    url: `${base(port)}repos/r${String(++stores)}`,
    username: USER,
    password: PASSWORD,
    retry: { baseDelayMs: 5 },
    ...overrides,
  });
}

storageConformance('webdav (rclone serve webdav)', () => Promise.resolve(storage()));

describe('WebDavStorage on rclone', () => {
  test('objects are files under the served directory; no temp resource stays', async () => {
    const store = storage();
    await store.put('data/ab/abcdef', pattern(100, 1));
    const v1 = await store.swap('head', pattern(10, 2), null);
    await store.swap('head', pattern(11, 3), v1);
    const root = join(directory, 'repos', store.location.split('/repos/')[1] ?? '');
    expect((await readdir(root, { recursive: true })).sort()).toEqual(['data', 'data/ab', 'data/ab/abcdef', 'head']);
  });

  test('crash leftovers: a temp resource is never listed, and list removes it once stale', async () => {
    const store = new WebDavStorage({ url: `${base()}leftovers/`, username: USER, password: PASSWORD, staleTempMs: 60_000 });
    expect(await collect(store.list(''))).toEqual([{ name: 'data/real', size: 10 }]);
    await expectCode(store.get('data/.coffer-tmp~0123456789abcdef'), 'E_INVALID_ARGUMENT');
    expect((await readdir(join(directory, 'leftovers', 'data'))).sort()).toEqual(['.coffer-tmp~fedcba9876543210', 'real']);
  });

  test('location has no credentials; wrong credentials are E_STORAGE_DENIED and the password shows nowhere', async () => {
    const store = storage({ password: 'wrong-but-secret-password' });
    expect(store.location).not.toContain('secret');
    expect(store.location).toMatch(/^webdav:http:\/\/127\.0\.0\.1:\d+\/repos\/r\d+\/$/);
    const failure = store.put('x', pattern(1, 6));
    await expectCode(failure, 'E_STORAGE_DENIED');
    const error = await failure.catch((caught: unknown) => caught);
    const shown = JSON.stringify(error, Object.getOwnPropertyNames(error)) + String(error) + String((error as Error).stack);
    expect(shown).not.toContain('wrong-but-secret-password');
    expect(shown).not.toContain(btoa(`${USER}:wrong-but-secret-password`));
  });

  test('a swap waits for another swap\'s lock, then sees the new version', async () => {
    const store = storage();
    const v1 = await store.swap('head', pattern(8, 7), null);
    const url = `${store.location.slice('webdav:'.length)}head`;
    const auth = { Authorization: `Basic ${btoa(`${USER}:${PASSWORD}`)}` };
    // Another client locks the pointer and holds it for a moment.
    const locked = await fetch(url, {
      method: 'LOCK',
      headers: { ...auth, Depth: '0', Timeout: 'Second-30', 'Content-Type': 'application/xml' },
      body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
    });
    expect(locked.status).toBe(200);
    const token = locked.headers.get('lock-token') ?? '';
    const waiting = store.swap('head', pattern(8, 8), v1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // A plain write without the token is refused while the lock is held.
    expect((await fetch(url, { method: 'PUT', headers: auth, body: 'intruder' })).status).toBe(423);
    await fetch(url, { method: 'UNLOCK', headers: { ...auth, 'Lock-Token': token } });
    const v2 = await waiting;
    expect(await store.getVersioned('head')).toEqual({ body: pattern(8, 8), version: v2 });
  });
});

describe('WebDavStorage through a faulty network', () => {
  const proxies: FaultProxy[] = [];
  afterAll(async () => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
  });
  async function proxied(decide: (method: string, index: number) => FaultAction): Promise<{ store: WebDavStorage; proxy: FaultProxy }> {
    const proxy = await startFaultProxy(server?.port ?? 0, (request, index) => decide(request.method ?? '', index));
    proxies.push(proxy);
    return { store: storage({}, proxy.port), proxy };
  }

  test('resets and 503s are retried until a request gets through', async () => {
    const { store, proxy } = await proxied((_method, index) => (index === 0 ? 'reset' : index === 1 ? { status: 503 } : index === 2 ? { status: 502 } : 'pass'));
    await store.put('obj', pattern(1000, 9));
    expectBytes(await store.get('obj', { offset: 10, length: 20 }), pattern(1000, 9).subarray(10, 30));
    expect(proxy.requests.slice(0, 4).map((line) => line.split(' ')[0])).toEqual(['MKCOL', 'MKCOL', 'MKCOL', 'MKCOL']);
  });

  test('a reply cut off mid-body is retried, not returned short', async () => {
    let cuts = 0;
    const { store } = await proxied((method) => (method === 'GET' && cuts++ < 2 ? 'cut-body' : 'pass'));
    const body = pattern(200_000, 20);
    await store.put('big', body);
    expectBytes(await store.get('big'), body);
    expect(cuts).toBe(3);
  });

  test('a MOVE whose reply is lost is retried, and the put succeeds once', async () => {
    let lost = 0;
    const { store } = await proxied((method) => (method === 'MOVE' && lost++ === 0 ? 'lose-reply' : 'pass'));
    await store.put('landed', pattern(50, 10));
    expect(lost).toBeGreaterThan(1);
    expectBytes(await store.get('landed'), pattern(50, 10));
    await expectCode(store.put('landed', pattern(50, 11)), 'E_STORAGE_EXISTS');
  });

  test('every try failing is E_STORAGE_UNAVAILABLE after 5 tries; a 403 is E_STORAGE_DENIED at once; 507 is E_STORAGE_FULL', async () => {
    const down = await proxied(() => ({ status: 503 }));
    await expect(down.store.get('x')).rejects.toMatchObject({ code: 'E_STORAGE_UNAVAILABLE', message: expect.stringContaining('failed 5 times') as unknown });
    expect(down.proxy.requests.length).toBe(5);
    const forbidden = await proxied(() => ({ status: 403 }));
    await expectCode(forbidden.store.get('x'), 'E_STORAGE_DENIED');
    expect(forbidden.proxy.requests.length).toBe(1);
    const full = await proxied((method) => (method === 'PUT' ? { status: 507 } : 'pass'));
    await expectCode(full.store.put('x', pattern(10, 12)), 'E_STORAGE_FULL');
  });

  test('a server without LOCK still swaps, by compare-then-replace', async () => {
    const { store } = await proxied((method) => (method === 'LOCK' ? { status: 405 } : 'pass'));
    const v1 = await store.swap('head', pattern(5, 13), null);
    await expectCode(store.swap('head', pattern(5, 14), 'not-the-version'), 'E_STORAGE_PRECONDITION');
    const v2 = await store.swap('head', pattern(5, 15), v1);
    expect(await store.getVersioned('head')).toEqual({ body: pattern(5, 15), version: v2 });
  });
});

describe('parseWebDavUrl', () => {
  test('address, credentials from the URL or the environment', () => {
    expect(parseWebDavUrl('webdav:https://dav.example.com/backups')).toEqual({ url: 'https://dav.example.com/backups/' });
    expect(parseWebDavUrl('webdav:http://me:p%40ss@127.0.0.1:8080/a/b/')).toEqual({ url: 'http://127.0.0.1:8080/a/b/', username: 'me', password: 'p@ss' });
    expect(parseWebDavUrl('webdav:https://host/x', { COFFER_WEBDAV_USER: 'env-user', COFFER_WEBDAV_PASSWORD: 'env-pass' })).toEqual({
      url: 'https://host/x/',
      username: 'env-user',
      password: 'env-pass',
    });
    // The URL's own credentials win over the environment's.
    expect(parseWebDavUrl('webdav:https://u:p@host/', { COFFER_WEBDAV_USER: 'other', COFFER_WEBDAV_PASSWORD: 'other' })).toMatchObject({ username: 'u', password: 'p' });
  });

  test('refuses other shapes, and never echoes the URL', () => {
    for (const url of ['https://host/x', 'webdav:ftp://host/x', 'webdav:nonsense', 'webdav:https://host/x?y=1']) {
      expect(() => parseWebDavUrl(url), url).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }) as Error);
    }
    expect(() => parseWebDavUrl('webdav:ftp://user:hunter2@host/')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') as unknown }) as Error,
    );
  });

  test('a store made from a parsed URL shows no credentials in its location', () => {
    const parsed = parseWebDavUrl('webdav:https://me:hunter2@dav.example.com/backups');
    const store = new WebDavStorage(parsed);
    expect(store.location).toBe('webdav:https://dav.example.com/backups/');
  });
});
