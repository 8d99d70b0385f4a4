/**
 * One chunker per file. SQLite databases and write-ahead logs, recognised by their first bytes,
 * are cut at page boundaries (chunker/sqlite.ts); every other file gets the repository's keyed
 * content-defined boundaries. The gear table is derived once per repository and shared by every file.
 */
import { Chunker, type ChunkerParams, GearBoundaries, deriveChunkerParams } from '../chunker/chunker.ts';
import { SqliteAwareBoundaries, type SqliteLayout } from '../chunker/sqlite.ts';
import type { Repository } from '../repo/repository.ts';

export interface ChunkStream extends Pick<Chunker, 'push' | 'pushLast' | 'finish'> {
  /** The file's SQLite layout once its first bytes were pushed; undefined for any other file. */
  readonly sqlite: SqliteLayout | undefined;
}

const params = new WeakMap<Repository, Promise<ChunkerParams>>();

export async function openChunkStream(repository: Repository): Promise<ChunkStream> {
  let derived = params.get(repository);
  if (!derived) {
    derived = deriveChunkerParams(repository.keys.chunker, repository.params.chunker);
    params.set(repository, derived);
  }
  const policy = new SqliteAwareBoundaries(new GearBoundaries(await derived));
  const chunker = new Chunker(policy);
  let finished: SqliteLayout | undefined;
  return {
    push: (piece) => chunker.push(piece),
    pushLast: (piece) => chunker.pushLast(piece),
    finish: () => {
      // finish() resets the policy, which forgets the layout: read it first.
      const layout = policy.layout;
      const last = chunker.finish();
      finished = layout;
      return last;
    },
    get sqlite() {
      return finished ?? policy.layout;
    },
  };
}
