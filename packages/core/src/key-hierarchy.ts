/**
 * The repository key hierarchy (format.md §3): one random 256-bit root key per
 * repository, and purpose-bound subkeys derived from it with HKDF-SHA256 under
 * the repository id as salt. The root key is the only secret a keyslot wraps,
 * which is why adding, removing or rotating an unlock method never touches data.
 */
import { assertBytes, utf8 } from './bytes.ts';
import { LABELS } from './labels.ts';
import { hkdfSha256, randomBytes } from './primitives.ts';

export const ROOT_KEY_BYTES = 32;
export const REPOSITORY_ID_BYTES = 16;
export const SUBKEY_BYTES = 32;

export function generateRootKey(): Uint8Array {
  return randomBytes(ROOT_KEY_BYTES);
}

export function generateRepositoryId(): Uint8Array {
  return randomBytes(REPOSITORY_ID_BYTES);
}

export type SubkeyPurpose = 'blobEncryption' | 'blobId' | 'manifest' | 'index' | 'chunker' | 'configMac';

const SUBKEY_LABELS: Record<SubkeyPurpose, string> = {
  blobEncryption: LABELS.blobEncryptionKey,
  blobId: LABELS.blobIdKey,
  manifest: LABELS.manifestKey,
  index: LABELS.indexKey,
  chunker: LABELS.chunkerKey,
  configMac: LABELS.configMacKey,
};

/** subkey = HKDF-SHA256(ikm = root key, salt = repository id, info = label, L = 32). */
export async function deriveSubkey(rootKey: Uint8Array, repositoryId: Uint8Array, purpose: SubkeyPurpose): Promise<Uint8Array> {
  assertBytes(rootKey, 'root key', ROOT_KEY_BYTES);
  assertBytes(repositoryId, 'repository id', REPOSITORY_ID_BYTES);
  return hkdfSha256(rootKey, repositoryId, utf8(SUBKEY_LABELS[purpose]), SUBKEY_BYTES);
}

export type RepositoryKeys = Readonly<Record<SubkeyPurpose, Uint8Array>>;

export async function deriveRepositoryKeys(rootKey: Uint8Array, repositoryId: Uint8Array): Promise<RepositoryKeys> {
  const purposes = Object.keys(SUBKEY_LABELS) as SubkeyPurpose[];
  const keys = await Promise.all(purposes.map((purpose) => deriveSubkey(rootKey, repositoryId, purpose)));
  return Object.freeze(Object.fromEntries(purposes.map((purpose, i) => [purpose, keys[i]])) as Record<SubkeyPurpose, Uint8Array>);
}
