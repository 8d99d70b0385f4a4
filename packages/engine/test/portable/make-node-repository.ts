/**
 * Writes `data/node-repository.json`: a small repository exactly as Node's engine writes it (pack
 * workers, zstd, SQLite pages under a content list, version-2 packs), with the recovery key that
 * opens it and what each file must read back as. node-repository.test.ts reads it in Node and in
 * Chromium, so a browser is held to reading what Node writes. Run it again after a deliberate
 * format change:
 *
 *   node packages/engine/test/portable/make-node-repository.ts
 *
 * The source is deterministic; the repository is not (salts and nonces are random), which is as
 * it should be: any repository Node writes must read back.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { generateRecoveryKey } from '@coffer/core';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { Repository } from '../../src/repo/repository.ts';
import { backup } from '../../src/node/backup.ts';
import { zstdCodec } from '../../src/node/zstd-codec.ts';
import { noise } from '../noise.ts';

export interface NodeRepositoryFixture {
  readonly recoveryKey: string;
  /** Every object of the repository: name → base64. */
  readonly objects: Record<string, string>;
  /** Every file of the snapshot, by its path under the snapshot's root: size and SHA-256 (hex). */
  readonly files: Record<string, { readonly size: number; readonly sha256: string }>;
}

const WORDS = ['hello', 'see', 'you', 'at', 'the', 'station', 'tomorrow', 'ok', 'thanks', 'photo', 'lunch', 'call', 'me', 'later', 'great', 'news'];

async function makeSource(root: string): Promise<void> {
  await mkdir(join(root, 'media', '2026-11'), { recursive: true });
  // A message store of about 35 pages of 4 KiB: more than 32 page chunks, so a content list.
  const db = new DatabaseSync(join(root, 'msgstore.db'));
  db.exec('PRAGMA page_size = 4096; PRAGMA journal_mode = DELETE;');
  db.exec('CREATE TABLE messages (id INTEGER PRIMARY KEY, chat INTEGER, sent INTEGER, body TEXT)');
  const insert = db.prepare('INSERT INTO messages (chat, sent, body) VALUES (?, ?, ?)');
  db.exec('BEGIN');
  for (let i = 0; i < 2600; i++) {
    const words = Array.from({ length: 3 + (i % 9) }, (_, w) => WORDS[(i * 7 + w * 3) % WORDS.length] ?? '');
    insert.run(i % 17, 1_764_000_000 + i * 37, words.join(' '));
  }
  db.exec('COMMIT');
  db.close();
  // 360 KB in one chunk: zstd from the workers' large-blob context, beyond the 64 KiB page one.
  await writeFile(join(root, 'notes.txt'), 'remember the milk\n'.repeat(20_000));
  await writeFile(join(root, 'media', '2026-11', 'IMG-20261101-00001.jpg'), noise(1, 12_000));
  await writeFile(join(root, 'media', '2026-11', 'IMG-20261101-00002.jpg'), noise(1, 12_000)); // a forward
  await writeFile(join(root, 'empty.txt'), '');
  await chmod(join(root, 'notes.txt'), 0o640);
  await utimes(join(root, 'notes.txt'), new Date('2026-11-02T10:00:00Z'), new Date('2026-11-02T10:00:00Z'));
}

export async function makeNodeRepository(): Promise<NodeRepositoryFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-node-repository-'));
  try {
    const source = join(dir, 'chat');
    await makeSource(source);
    const recoveryKey = generateRecoveryKey();
    const storage = new MemoryStorage();
    const repository = await Repository.init(
      storage,
      { description: { type: 'recovery-key', metadata: { label: 'Recovery key', createdAt: 0, lastUsedAt: 0 } }, secret: { type: 'recovery-key', recoveryKey } },
      { codec: zstdCodec() },
    );
    await backup(repository, [source], { now: () => new Date('2026-11-03T12:00:00Z'), host: 'fixture' });
    const objects: Record<string, string> = {};
    for (const prefix of ['config/', 'data/', 'index/', 'snapshots/']) {
      for await (const object of storage.list(prefix)) objects[object.name] = Buffer.from(await storage.get(object.name)).toString('base64');
    }
    const files: Record<string, { size: number; sha256: string }> = {};
    for (const path of ['msgstore.db', 'notes.txt', 'media/2026-11/IMG-20261101-00001.jpg', 'media/2026-11/IMG-20261101-00002.jpg', 'empty.txt']) {
      const bytes = await readFile(join(source, path));
      files[`chat/${path}`] = { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    }
    return { recoveryKey: recoveryKey.text, objects, files };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const fixture = await makeNodeRepository();
  const out = join(import.meta.dirname, 'data', 'node-repository.json');
  await writeFile(out, `${JSON.stringify(fixture, null, 1)}\n`);
  process.stdout.write(`wrote ${out}: ${String(Object.keys(fixture.objects).length)} objects\n`);
}
