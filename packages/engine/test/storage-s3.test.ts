/**
 * S3Storage against s3rver (started here in a child process on 127.0.0.1,
 * port 0, in a temp directory) — the conformance suite — plus fault tests
 * through a proxy.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { S3Storage, type S3StorageOptions } from '../src/storage/s3.ts';
import { parseS3Url } from '../src/storage/s3-url.ts';
import { collect, expectBytes, expectCode, pattern, storageConformance } from './storage-conformance.ts';
import { s3Error, startFaultProxy, type FaultAction, type FaultProxy } from './storage-fault-proxy.ts';
import { startS3rver, type RunningS3rver } from './s3rver-server.ts';

const BUCKET = 'coffer-test';
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
let directory = '';
let server: RunningS3rver | undefined;
let port = 0;
let prefixes = 0;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'coffer-s3rver-'));
  server = await startS3rver(directory);
  ({ port } = server);
  const admin = new S3Client({
    endpoint: `http://127.0.0.1:${String(port)}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
  });
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  admin.destroy();
});

afterAll(async () => {
  await server?.stop();
  await rm(directory, { recursive: true, force: true });
});

function storage(overrides: Partial<S3StorageOptions> = {}, viaPort = port): S3Storage {
  return new S3Storage({
    bucket: BUCKET,
    prefix: `run/t${String(++prefixes)}`,
    endpoint: `http://127.0.0.1:${String(viaPort)}`,
    credentials,
    retry: { baseDelayMs: 5 },
    ...overrides,
  });
}

// s3rver 3.7.1 accepts If-None-Match and If-Match and ignores them (checked
// below), so here the driver runs on its HEAD-then-PUT fallback, and racing
// writers can both succeed: the suite checks the weaker promise for races.
// s3rver writes about 85 objects/s, so pages of 100 keys are crossed with 250
// objects instead of pages of 1,000 with 1,200 (same code path, 3 pages).
storageConformance('s3 (s3rver)', () => Promise.resolve(storage({ listPageSize: 100 })), {
  atomicCreate: false,
  atomicSwap: false,
  manyObjects: 250,
});

describe('S3Storage', () => {
  test('the probe finds that s3rver ignores conditional headers, and leaves no key behind', async () => {
    const store = storage();
    expect(await store.conditionalWrites()).toEqual({ create: false, replace: false });
    await store.put('a', pattern(1, 1));
    expect(await collect(store.list(''))).toEqual([{ name: 'a', size: 1 }]);
    await store.close();
  });

  test('location names the endpoint, bucket and prefix, and no credentials', () => {
    const store = storage({ prefix: 'backups/phone', credentials: { accessKeyId: 'AKIDSECRET', secretAccessKey: 'very-secret-key' } });
    expect(store.location).toBe(`s3:http://127.0.0.1:${String(port)}/${BUCKET}/backups/phone`);
  });

  test('objects of one prefix are invisible under another', async () => {
    const one = storage({ prefix: 'tenant/one' });
    const other = storage({ prefix: 'tenant/one-more' });
    await one.put('x', pattern(2, 2));
    expect(await collect(other.list(''))).toEqual([]);
    await expectCode(other.get('x'), 'E_STORAGE_NOT_FOUND');
  });

  test('the bytes on the server are exactly the body (no aws-chunked framing stored)', async () => {
    const store = storage({ prefix: 'framing' });
    const body = pattern(300_000, 3);
    await store.put('big', body);
    expect(await store.stat('big')).toEqual({ name: 'big', size: 300_000 });
    expectBytes(await store.get('big'), body);
  });
});

describe('S3Storage through a faulty network', () => {
  const proxies: FaultProxy[] = [];
  afterAll(async () => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
  });
  async function proxied(decide: (index: number) => FaultAction, overrides: Partial<S3StorageOptions> = {}): Promise<{ store: S3Storage; proxy: FaultProxy }> {
    const proxy = await startFaultProxy(port, (_request, index) => decide(index));
    proxies.push(proxy);
    return { store: storage(overrides, proxy.port), proxy };
  }
  /** Seeds an object straight into s3rver, past the proxy. */
  async function seed(store: S3Storage, name: string, body: Uint8Array): Promise<void> {
    const prefix = store.location.slice(store.location.indexOf(`${BUCKET}/`) + BUCKET.length + 1);
    const admin = new S3Client({ endpoint: `http://127.0.0.1:${String(port)}`, region: 'us-east-1', forcePathStyle: true, credentials });
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/${name}`, Body: body }));
    admin.destroy();
  }

  test('connection resets are retried until a request gets through', async () => {
    const { store, proxy } = await proxied((index) => (index < 3 ? 'reset' : 'pass'));
    await seed(store, 'obj', pattern(1000, 4));
    expectBytes(await store.get('obj'), pattern(1000, 4));
    expect(proxy.requests.length).toBe(4);
  });

  test('a reply cut off mid-body is retried, not returned short', async () => {
    let cuts = 0;
    const { store } = await proxied(() => 'pass');
    const body = pattern(200_000, 21);
    await seed(store, 'big', body);
    const proxy = await startFaultProxy(port, (request) => (request.method === 'GET' && cuts++ < 2 ? 'cut-body' : 'pass'));
    proxies.push(proxy);
    const cutting = storage({ prefix: store.location.split(`${BUCKET}/`)[1] ?? '' }, proxy.port);
    expectBytes(await cutting.get('big'), body);
    expect(cuts).toBe(3);
  });

  test('503 SlowDown and 500 are retried', async () => {
    const { store, proxy } = await proxied((index) => (index === 0 ? s3Error(503, 'SlowDown') : index === 1 ? s3Error(500, 'InternalError') : 'pass'));
    await seed(store, 'obj', pattern(10, 5));
    expect(await store.stat('obj')).toEqual({ name: 'obj', size: 10 });
    expect(proxy.requests.length).toBe(3);
  });

  test('a put or swap retried after a lost reply succeeds when the object holds its bytes', async () => {
    // The first PUT of each name reaches s3rver, but the reply is lost: the retry finds the bytes already there.
    const lost = new Set<string>();
    const store = storage();
    const lossy = await startFaultProxy(port, (request) => {
      const url = request.url ?? '';
      if (request.method !== 'PUT' || !/\/(landed|head)(\?|$)/.test(url) || lost.has(url)) return 'pass';
      lost.add(url);
      return 'lose-reply';
    });
    proxies.push(lossy);
    const flaky = storage({ prefix: store.location.split(`${BUCKET}/`)[1] ?? '' }, lossy.port);
    await flaky.put('landed', pattern(7, 7));
    expectBytes(await store.get('landed'), pattern(7, 7));
    await expectCode(flaky.put('landed', pattern(7, 8)), 'E_STORAGE_EXISTS');
    const v1 = await store.swap('head', pattern(3, 1), null);
    const v2 = await flaky.swap('head', pattern(3, 2), v1);
    expect(await store.getVersioned('head')).toEqual({ body: pattern(3, 2), version: v2 });
    expect(lost.size).toBe(2);
  });

  test('list follows continuation tokens across pages', async () => {
    const { store, proxy } = await proxied(() => 'pass', { listPageSize: 2 });
    for (const name of ['p/1', 'p/2', 'p/3', 'p/4', 'p/5']) await store.put(name, pattern(1, 1));
    const before = proxy.requests.length;
    expect((await collect(store.list('p/'))).map((object) => object.name)).toEqual(['p/1', 'p/2', 'p/3', 'p/4', 'p/5']);
    expect(proxy.requests.slice(before).filter((line) => line.startsWith('GET ') && line.includes('list-type=2')).length).toBe(3);
  });

  test('every try reset: E_STORAGE_UNAVAILABLE after 5 tries', async () => {
    const { store, proxy } = await proxied(() => 'reset');
    await expect(store.get('obj')).rejects.toMatchObject({ code: 'E_STORAGE_UNAVAILABLE', message: expect.stringContaining('failed 5 times') as unknown });
    expect(proxy.requests.length).toBe(5);
  });

  test('a permanent 403 is E_STORAGE_DENIED at once, without retries, and shows no credentials', async () => {
    const { store, proxy } = await proxied(() => s3Error(403, 'AccessDenied'), {
      credentials: { accessKeyId: 'AKIAEXAMPLEKEYID', secretAccessKey: 'wJalrXUtnFEMI-very-secret' },
    });
    const failure = store.get('obj');
    await expectCode(failure, 'E_STORAGE_DENIED');
    expect(proxy.requests.length).toBe(1);
    await expectCode(store.put('obj', pattern(1, 8)), 'E_STORAGE_DENIED');
    // The put's first request (the probe's) was refused and nothing was retried.
    expect(proxy.requests.length).toBe(2);
    const error = await failure.catch((caught: unknown) => caught);
    const shown = JSON.stringify(error, Object.getOwnPropertyNames(error)) + String(error) + String((error as Error).stack);
    expect(shown).not.toContain('wJalrXUtnFEMI-very-secret');
  });

  test('where the server honours conditional headers, its 412 means E_STORAGE_EXISTS / E_STORAGE_PRECONDITION', async () => {
    // The proxy plays a server that refuses every conditional PUT, as AWS does for an existing key or a stale ETag.
    const proxy = await startFaultProxy(port, (request) =>
      request.method === 'PUT' && (request.headers['if-none-match'] !== undefined || request.headers['if-match'] !== undefined)
        ? s3Error(412, 'PreconditionFailed')
        : 'pass',
    );
    proxies.push(proxy);
    const store = storage({}, proxy.port);
    expect(await store.conditionalWrites()).toEqual({ create: true, replace: true });
    await expectCode(store.put('taken', pattern(3, 9)), 'E_STORAGE_EXISTS');
    await expectCode(store.swap('head', pattern(3, 10), null), 'E_STORAGE_PRECONDITION');
    await expectCode(store.swap('head', pattern(3, 10), '"abc"'), 'E_STORAGE_PRECONDITION');
    // No unconditional write slipped through: s3rver, which ignores the headers, would have stored it.
    expect(await collect(storage({ prefix: store.location.split(`${BUCKET}/`)[1] ?? '' }).list(''))).toEqual([]);
  });
});

describe('parseS3Url', () => {
  test('endpoint, bucket and prefix', () => {
    expect(parseS3Url('s3:https://s3.example.com/bucket')).toEqual({ endpoint: 'https://s3.example.com', bucket: 'bucket', prefix: '', forcePathStyle: true });
    expect(parseS3Url('s3:http://127.0.0.1:9000/my.bucket/backups/phone/')).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'my.bucket',
      prefix: 'backups/phone',
      forcePathStyle: true,
    });
  });

  test('refuses other shapes, and never echoes the URL', () => {
    const bad = [
      'https://s3.example.com/bucket',
      's3:ftp://host/bucket',
      's3:https://host',
      's3:https://host/B',
      's3:https://host/ab',
      's3:https://host/bucket/Prefix',
      's3:https://host/bucket/a/../b',
      's3:https://host/bucket?x=1',
      's3:not a url',
    ];
    for (const url of bad) expect(() => parseS3Url(url), url).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }) as Error);
    expect(() => parseS3Url('s3:https://AKID:hunter2@host/bucket')).toThrow(
      expect.objectContaining({ code: 'E_INVALID_ARGUMENT', message: expect.not.stringContaining('hunter2') as unknown }) as Error,
    );
  });
});
