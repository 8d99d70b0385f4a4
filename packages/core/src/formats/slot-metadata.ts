/**
 * Public, type-specific keyslot metadata (format.md §4.2), key-free. It is
 * readable by anyone holding the repository config and authenticated by the
 * slot's AAD, so it must never hold secrets.
 *
 *   common   = label_len:u8 ‖ label (UTF-8, ≤ 64) ‖ created_at:u64 ‖ last_used_at:u64
 *   passkey  = common ‖ credential_id_len:u16 (1..1023) ‖ credential_id ‖ rp_id_len:u8 (1..253)
 *              ‖ rp_id (UTF-8) ‖ prf_salt:32 ‖ aaguid:16 ‖ provider_len:u8 ‖ provider (UTF-8, ≤ 64)
 *   password = common ‖ vault_account_len:u8 (1..255) ‖ vault_account (UTF-8)
 *   recovery = common
 *
 * Times are milliseconds since the Unix epoch; last_used_at = 0 means never.
 */
import { ByteReader, ByteWriter, assertBytes, assertObject, decodeUtf8, utf8 } from '../bytes.ts';
import { fail } from '../errors.ts';
import { KEYSLOT_TYPE_CODES, type KeyslotType, keyslotTypeName } from './keyslot.ts';

export const MAX_LABEL_BYTES = 64;
export const MAX_CREDENTIAL_ID_BYTES = 1023;
export const MAX_RP_ID_BYTES = 253;
export const PRF_SALT_BYTES = 32;
export const AAGUID_BYTES = 16;
export const MAX_PROVIDER_BYTES = 64;
export const MAX_VAULT_ACCOUNT_BYTES = 255;

export interface CommonSlotMetadata {
  readonly label: string;
  readonly createdAt: number;
  readonly lastUsedAt: number;
}

export interface PasskeySlotMetadata extends CommonSlotMetadata {
  readonly credentialId: Uint8Array;
  readonly rpId: string;
  /** Random per slot; the WebAuthn PRF input is derived from it (format.md §4.3). */
  readonly prfSalt: Uint8Array;
  readonly aaguid: Uint8Array;
  /** Name of the passkey provider (e.g. a password manager), from the AAGUID; may be empty. */
  readonly provider: string;
}

export interface PasswordSlotMetadata extends CommonSlotMetadata {
  /** Which vault account holds the share, e.g. "https://coffer.example.org/#alice". */
  readonly vaultAccount: string;
}

export type SlotDescription =
  | { readonly type: 'passkey-portable'; readonly metadata: PasskeySlotMetadata }
  | { readonly type: 'passkey-hybrid'; readonly metadata: PasskeySlotMetadata }
  | { readonly type: 'password'; readonly metadata: PasswordSlotMetadata }
  | { readonly type: 'recovery-key'; readonly metadata: CommonSlotMetadata };

export function encodeSlotMetadata(description: SlotDescription): Uint8Array {
  assertObject(description, 'slot description');
  assertObject(description.metadata, 'slot metadata');
  const writer = new ByteWriter();
  const m = description.metadata;
  writeText(writer, m.label, 0, MAX_LABEL_BYTES, 'label');
  writeTime(writer, m.createdAt, 'createdAt');
  writeTime(writer, m.lastUsedAt, 'lastUsedAt');
  switch (description.type) {
    case 'passkey-portable':
    case 'passkey-hybrid': {
      const p = description.metadata;
      writeBytes(writer, p.credentialId, 1, MAX_CREDENTIAL_ID_BYTES, 'credentialId');
      writeText(writer, p.rpId, 1, MAX_RP_ID_BYTES, 'rpId', 1);
      exact(p.prfSalt, PRF_SALT_BYTES, 'prfSalt');
      exact(p.aaguid, AAGUID_BYTES, 'aaguid');
      writer.bytes(p.prfSalt).bytes(p.aaguid);
      writeText(writer, p.provider, 0, MAX_PROVIDER_BYTES, 'provider');
      break;
    }
    case 'password':
      writeText(writer, description.metadata.vaultAccount, 1, MAX_VAULT_ACCOUNT_BYTES, 'vaultAccount');
      break;
    case 'recovery-key':
      break;
    default:
      fail('E_INVALID_ARGUMENT', 'unknown slot description type');
  }
  return writer.finish();
}

/** Decodes the metadata of a slot with type code `typeCode`; unknown types are `E_UNSUPPORTED_VERSION`. */
export function decodeSlotMetadata(typeCode: number, bytes: Uint8Array): SlotDescription {
  assertBytes(bytes, 'keyslot metadata');
  const type = keyslotTypeName(typeCode);
  if (type === undefined) fail('E_UNSUPPORTED_VERSION', `keyslot type ${String(typeCode)} needs a newer Coffer`);
  const reader = new ByteReader(bytes, 'keyslot metadata');
  const common: CommonSlotMetadata = {
    label: decodeUtf8(reader.lengthPrefixed(1, MAX_LABEL_BYTES, 'label'), 'label'),
    createdAt: reader.u64('createdAt'),
    lastUsedAt: reader.u64('lastUsedAt'),
  };
  let description: SlotDescription;
  switch (type) {
    case 'passkey-portable':
    case 'passkey-hybrid': {
      const metadata: PasskeySlotMetadata = {
        ...common,
        credentialId: reader.lengthPrefixed(2, MAX_CREDENTIAL_ID_BYTES, 'credentialId', 1),
        rpId: decodeUtf8(reader.lengthPrefixed(1, MAX_RP_ID_BYTES, 'rpId', 1), 'rpId'),
        prfSalt: reader.bytesOf(PRF_SALT_BYTES, 'prfSalt'),
        aaguid: reader.bytesOf(AAGUID_BYTES, 'aaguid'),
        provider: decodeUtf8(reader.lengthPrefixed(1, MAX_PROVIDER_BYTES, 'provider'), 'provider'),
      };
      description = { type, metadata };
      break;
    }
    case 'password':
      description = {
        type,
        metadata: { ...common, vaultAccount: decodeUtf8(reader.lengthPrefixed(1, MAX_VAULT_ACCOUNT_BYTES, 'vaultAccount', 1), 'vaultAccount') },
      };
      break;
    case 'recovery-key':
      description = { type, metadata: common };
      break;
  }
  reader.expectEnd();
  return description;
}

export function slotTypeCode(type: KeyslotType): number {
  return KEYSLOT_TYPE_CODES[type];
}

function writeText(writer: ByteWriter, text: string, min: number, max: number, field: string, prefix: 1 | 2 = 1): void {
  if (typeof text !== 'string') fail('E_INVALID_ARGUMENT', `${field} must be a string`);
  if (!text.isWellFormed()) fail('E_INVALID_ARGUMENT', `${field} must be well-formed Unicode`);
  writeBytes(writer, utf8(text), min, max, field, prefix);
}

function writeBytes(writer: ByteWriter, bytes: Uint8Array, min: number, max: number, field: string, prefix: 1 | 2 = 2): void {
  if (!(bytes instanceof Uint8Array)) fail('E_INVALID_ARGUMENT', `${field} must be a Uint8Array`);
  if (bytes.length < min || bytes.length > max) {
    fail('E_INVALID_ARGUMENT', `${field} must be ${String(min)}..${String(max)} bytes, got ${String(bytes.length)}`);
  }
  writer.lengthPrefixed(prefix, bytes);
}

function writeTime(writer: ByteWriter, time: number, field: string): void {
  if (!Number.isSafeInteger(time) || time < 0) fail('E_INVALID_ARGUMENT', `${field} must be a non-negative integer (ms)`);
  writer.u64(time);
}

function exact(bytes: Uint8Array, length: number, field: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) fail('E_INVALID_ARGUMENT', `${field} must be ${String(length)} bytes`);
}
