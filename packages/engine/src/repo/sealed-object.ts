/**
 * The container of the engine's small sealed objects — index files, snapshot
 * manifests, locks (format.md §9.3):
 *
 *   object = magic:4 ‖ version:u8 (= 1) ‖ salt:32 ‖ frame
 *   key    = HKDF(subkey, salt, label)
 *   frame  = core blob frame sealing the payload with aad = magic ‖ version ‖ salt
 */
import { CofferError, concatBytes, fail, randomBytes } from '@coffer/core';
import { OBJECT_SALT_BYTES, objectKey } from './object-key.ts';

export const SEALED_OBJECT_VERSION = 1;
const HEADER_BYTES = 4 + 1 + OBJECT_SALT_BYTES;

export interface SealedObjectKind {
  /** Four ASCII characters naming the kind, e.g. "CFIX". */
  readonly magic: string;
  readonly label: string;
  /** Used in error messages. */
  readonly what: string;
}

export async function sealObject(kind: SealedObjectKind, subkey: Uint8Array, payload: Uint8Array): Promise<Uint8Array> {
  const header = concatBytes(new TextEncoder().encode(kind.magic), Uint8Array.of(SEALED_OBJECT_VERSION), randomBytes(OBJECT_SALT_BYTES));
  const key = await objectKey(subkey, header.subarray(5), kind.label);
  return concatBytes(header, await key.seal(payload, header));
}

/** Opens a sealed object; `name` (its storage name) goes into errors so damage is traceable. */
export async function openObject(kind: SealedObjectKind, subkey: Uint8Array, bytes: Uint8Array, name: string): Promise<Uint8Array> {
  if (bytes.length < HEADER_BYTES) fail('E_TRUNCATED', `${kind.what} ${name} is truncated`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== kind.magic) fail('E_FORMAT', `${name} is not a ${kind.what} (bad magic)`);
  if (bytes[4] !== SEALED_OBJECT_VERSION) fail('E_UNSUPPORTED_VERSION', `${kind.what} ${name} has version ${String(bytes[4])}`);
  const header = bytes.subarray(0, HEADER_BYTES);
  const key = await objectKey(subkey, header.subarray(5), kind.label);
  try {
    return await key.open(bytes.subarray(HEADER_BYTES), header);
  } catch (error) {
    if (error instanceof CofferError) throw new CofferError(error.code, `${kind.what} ${name}: ${error.message}`, { cause: error });
    throw error;
  }
}
