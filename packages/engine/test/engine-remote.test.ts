/**
 * The engine's round trip on the remote drivers: S3 (against s3rver) and WebDAV
 * (against Debian's `rclone serve webdav`), both on loopback. Same checks as on
 * local storage: the restored tree is identical and `check --read-data` is clean.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateRecoveryKey } from '@coffer/core';
import { Repository } from '../src/repo/repository.ts';
import { checkRepository } from '../src/repo/check.ts';
import type { Storage } from '../src/storage/storage.ts';
import { S3Storage } from '../src/storage/s3.ts';
import { WebDavStorage } from '../src/storage/webdav.ts';
import { backup } from '../src/node/backup.ts';
import { restoreSnapshot } from '../src/node/restore.ts';
import { zstdCodec } from '../src/node/zstd-codec.ts';
import { nodeBulkCrypto } from '../src/node/node-crypto.ts';
import { startS3rver, type RunningS3rver } from './s3rver-server.ts';
import { startWebDav, type RunningWebDav } from './webdav-server.ts';

const recoveryKey = generateRecoveryKey();
const secret = { type: 'recovery-key' as const, recoveryKey };
const first = { description: { type: 'recovery-key' as const, metadata: { label: 'Recovery key', createdAt: 0, lastUsedAt: 0 } }, secret };
const options = { codec: zstdCodec(), bulkCrypto: nodeBulkCrypto, packSize: 512 * 1024, params: { chunker: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 } } };

let work = '';
let s3: RunningS3rver | undefined;
let dav: RunningWebDav | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'coffer-engine-remote-'));
  s3 = await startS3rver(join(work, 's3'));
  const admin = new S3Client({ endpoint: `http://127.0.0.1:${String(s3.port)}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  await admin.send(new CreateBucketCommand({ Bucket: 'backups' }));
  admin.destroy();
  await mkdir(join(work, 'dav'));
  dav = await startWebDav(join(work, 'dav'), 'alice', 'dav-password');
  const source = join(work, 'source', 'chat');
  await mkdir(join(source, 'media'), { recursive: true });
  await writeFile(join(source, 'messages.db'), Buffer.alloc(3_000_000, 'message '));
  await writeFile(join(source, 'media', 'photo.jpg'), crypto.getRandomValues(new Uint8Array(60_000)));
  await writeFile(join(source, 'media', 'forward.jpg'), await readFile(join(source, 'media', 'photo.jpg')));
});

afterAll(async () => {
  await s3?.stop();
  await dav?.stop();
  await rm(work, { recursive: true, force: true });
});

const drivers: [string, () => Storage][] = [
  ['S3 (s3rver)', () => new S3Storage({ bucket: 'backups', prefix: 'alice', endpoint: `http://127.0.0.1:${String(s3?.port)}`, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })],
  ['WebDAV (rclone)', () => new WebDavStorage({ url: `${dav?.url ?? ''}repo`, username: 'alice', password: 'dav-password' })],
];

describe('round trip on remote storage', () => {
  test.each(drivers)('%s: backup, restore byte for byte, check --read-data', async (_name, makeStorage) => {
    const storage = makeStorage();
    try {
      const repository = await Repository.init(storage, first, options);
      const { snapshot } = await backup(repository, [join(work, 'source', 'chat')]);
      const reopened = await Repository.open(makeStorage(), secret, options);
      const target = join(work, `target-${_name.replace(/\W/g, '')}`);
      const report = await restoreSnapshot(reopened, snapshot, target);
      expect(report.failures).toEqual([]);
      for (const file of ['messages.db', 'media/photo.jpg', 'media/forward.jpg']) {
        expect(Buffer.compare(await readFile(join(target, 'chat', file)), await readFile(join(work, 'source', 'chat', file))), file).toBe(0);
      }
      expect((await checkRepository(reopened, { readData: true })).problems).toEqual([]);
    } finally {
      await storage.close();
    }
  });
});
