/**
 * The keyslot byte layout (format.md §4.1), key-free:
 *
 *   keyslot = version:u8 (= 1) ‖ type:u8 ‖ slot_id:16 ‖ metadata_len:u16 ‖ metadata
 *             ‖ kdf_salt:32 ‖ nonce:12 ‖ wrapped_root_key:48 ‖ commitment:32
 *
 * The type-specific metadata is decoded separately (slot-metadata.ts), so a
 * parser keeps slots of types it does not know intact instead of refusing the
 * whole repository.
 */
import { ByteReader, ByteWriter, assertBytes, assertObject } from '../bytes.ts';
import { fail } from '../errors.ts';
import { GCM_NONCE_BYTES, GCM_TAG_BYTES } from '../primitives.ts';

export const KEYSLOT_VERSION = 1;
export const SLOT_ID_BYTES = 16;
export const KDF_SALT_BYTES = 32;
export const WRAPPED_ROOT_KEY_BYTES = 32 + GCM_TAG_BYTES;
export const COMMITMENT_BYTES = 32;
export const MAX_SLOT_METADATA_BYTES = 4096;

export const KEYSLOT_TYPE_CODES = {
  'passkey-portable': 1,
  'passkey-hybrid': 2,
  password: 3,
  'recovery-key': 4,
} as const;

export type KeyslotType = keyof typeof KEYSLOT_TYPE_CODES;

export function keyslotTypeName(code: number): KeyslotType | undefined {
  for (const [name, value] of Object.entries(KEYSLOT_TYPE_CODES)) if (value === code) return name as KeyslotType;
  return undefined;
}

export interface Keyslot {
  readonly version: number;
  /** Type code; see KEYSLOT_TYPE_CODES. Unknown codes parse, but cannot be opened. */
  readonly type: number;
  readonly slotId: Uint8Array;
  /** Encoded type-specific public metadata (slot-metadata.ts). */
  readonly metadata: Uint8Array;
  readonly kdfSalt: Uint8Array;
  readonly nonce: Uint8Array;
  readonly wrappedRootKey: Uint8Array;
  readonly commitment: Uint8Array;
}

/** The part of a keyslot that its AAD authenticates: every byte before the nonce. */
export function encodeKeyslotPrefix(slot: Omit<Keyslot, 'nonce' | 'wrappedRootKey' | 'commitment'>): Uint8Array {
  assertObject(slot, 'keyslot');
  assertBytes(slot.metadata, 'keyslot metadata');
  checkLength(slot.slotId, SLOT_ID_BYTES, 'slot id');
  checkLength(slot.kdfSalt, KDF_SALT_BYTES, 'kdf salt');
  if (slot.version !== KEYSLOT_VERSION) fail('E_INVALID_ARGUMENT', 'keyslot version must be 1');
  if (!Number.isInteger(slot.type) || slot.type < 1 || slot.type > 255) fail('E_INVALID_ARGUMENT', 'keyslot type must be 1..255');
  if (slot.metadata.length > MAX_SLOT_METADATA_BYTES) fail('E_INVALID_ARGUMENT', 'keyslot metadata exceeds 4096 bytes');
  return new ByteWriter()
    .u8(slot.version)
    .u8(slot.type)
    .bytes(slot.slotId)
    .lengthPrefixed(2, slot.metadata)
    .bytes(slot.kdfSalt)
    .finish();
}

export function encodeKeyslot(slot: Keyslot): Uint8Array {
  checkLength(slot.nonce, GCM_NONCE_BYTES, 'nonce');
  checkLength(slot.wrappedRootKey, WRAPPED_ROOT_KEY_BYTES, 'wrapped root key');
  checkLength(slot.commitment, COMMITMENT_BYTES, 'commitment');
  return new ByteWriter()
    .bytes(encodeKeyslotPrefix(slot))
    .bytes(slot.nonce)
    .bytes(slot.wrappedRootKey)
    .bytes(slot.commitment)
    .finish();
}

export function parseKeyslot(bytes: Uint8Array): Keyslot {
  if (!(bytes instanceof Uint8Array)) fail('E_INVALID_ARGUMENT', 'keyslot must be a Uint8Array');
  const reader = new ByteReader(bytes, 'keyslot');
  const slot = readKeyslot(reader);
  reader.expectEnd();
  return slot;
}

export function readKeyslot(reader: ByteReader): Keyslot {
  const version = reader.u8('version');
  if (version !== KEYSLOT_VERSION) fail('E_UNSUPPORTED_VERSION', `keyslot version ${String(version)} is not supported`);
  const type = reader.u8('type');
  if (type === 0) fail('E_FORMAT', 'keyslot type 0 is reserved');
  return {
    version,
    type,
    slotId: reader.bytesOf(SLOT_ID_BYTES, 'slot id'),
    metadata: reader.lengthPrefixed(2, MAX_SLOT_METADATA_BYTES, 'metadata'),
    kdfSalt: reader.bytesOf(KDF_SALT_BYTES, 'kdf salt'),
    nonce: reader.bytesOf(GCM_NONCE_BYTES, 'nonce'),
    wrappedRootKey: reader.bytesOf(WRAPPED_ROOT_KEY_BYTES, 'wrapped root key'),
    commitment: reader.bytesOf(COMMITMENT_BYTES, 'commitment'),
  };
}

function checkLength(value: Uint8Array, length: number, what: string): void {
  if (!(value instanceof Uint8Array) || value.length !== length) fail('E_INVALID_ARGUMENT', `keyslot ${what} must be ${String(length)} bytes`);
}
