/**
 * One chunker per file, with the repository's keyed boundaries. The gear table
 * is derived once per repository and shared by every file.
 */
import { type Chunker, type ChunkerParams, createChunker, deriveChunkerParams } from '../chunker/chunker.ts';
import type { Repository } from '../repo/repository.ts';

export type ChunkStream = Pick<Chunker, 'push' | 'finish'>;

const params = new WeakMap<Repository, Promise<ChunkerParams>>();

export async function openChunkStream(repository: Repository): Promise<ChunkStream> {
  let derived = params.get(repository);
  if (!derived) {
    derived = deriveChunkerParams(repository.keys.chunker, repository.params.chunker);
    params.set(repository, derived);
  }
  return createChunker(await derived);
}
