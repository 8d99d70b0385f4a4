/**
 * The repository config header (format.md §5), key-free:
 *
 *   config = magic:8 ("COFFERCF") ‖ version:u8 (= 1) ‖ flags:u8 (= 0) ‖ repository_id:16
 *            ‖ created_at:u64 ‖ generation:u64 ‖ params_len:u16 ‖ params (≤ 4096)
 *            ‖ slot_count:u16 (1..1024) ‖ { slot_len:u16 ‖ keyslot } × slot_count ‖ mac:32
 *
 * `mac` authenticates everything before it under a subkey of the root key, so the
 * set of slots and the public params cannot be changed without the root key.
 * `generation` grows by one at every rewrite; clients remember the newest one
 * they saw to refuse a rolled-back config.
 */
import { ByteReader, ByteWriter, assertBytes, assertObject, constantTimeEqual } from '../bytes.ts';
import { fail } from '../errors.ts';
import { HMAC_SHA256_BYTES } from '../primitives.ts';
import { type Keyslot, SLOT_ID_BYTES, encodeKeyslot, parseKeyslot } from './keyslot.ts';

export const CONFIG_MAGIC = new Uint8Array([0x43, 0x4f, 0x46, 0x46, 0x45, 0x52, 0x43, 0x46]); // "COFFERCF"
export const CONFIG_VERSION = 1;
export const MAX_CONFIG_PARAMS_BYTES = 4096;
export const MAX_KEYSLOTS = 1024;
/** A keyslot is at most 1 + 1 + 16 + 2 + 4096 + 32 + 12 + 48 + 32 bytes. */
const MAX_KEYSLOT_BYTES = 4240;

export interface ConfigHeader {
  readonly version: number;
  readonly flags: number;
  readonly repositoryId: Uint8Array;
  readonly createdAt: number;
  readonly generation: number;
  /** Public, authenticated parameters for the engine (e.g. chunker sizes); opaque to core. */
  readonly params: Uint8Array;
  readonly keyslots: readonly Keyslot[];
}

/** Encodes everything the MAC covers: the whole header except the trailing 32-byte tag. */
export function encodeConfigBody(config: ConfigHeader): Uint8Array {
  assertObject(config, 'config');
  assertBytes(config.params, 'config params');
  const keyslots: unknown = config.keyslots;
  if (!Array.isArray(keyslots)) fail('E_INVALID_ARGUMENT', 'config keyslots must be an array');
  if (config.version !== CONFIG_VERSION) fail('E_INVALID_ARGUMENT', 'config version must be 1');
  if (config.flags !== 0) fail('E_INVALID_ARGUMENT', 'config flags are reserved and must be 0');
  if (!(config.repositoryId instanceof Uint8Array) || config.repositoryId.length !== 16) fail('E_INVALID_ARGUMENT', 'repository id must be 16 bytes');
  if (!Number.isSafeInteger(config.createdAt) || config.createdAt < 0) fail('E_INVALID_ARGUMENT', 'createdAt must be a non-negative integer');
  if (!Number.isSafeInteger(config.generation) || config.generation < 1) fail('E_INVALID_ARGUMENT', 'generation must be a positive integer');
  if (config.params.length > MAX_CONFIG_PARAMS_BYTES) fail('E_INVALID_ARGUMENT', 'config params exceed 4096 bytes');
  if (config.keyslots.length < 1 || config.keyslots.length > MAX_KEYSLOTS) fail('E_INVALID_ARGUMENT', `a config holds 1..${String(MAX_KEYSLOTS)} keyslots`);
  checkDistinctSlotIds(config.keyslots, 'E_INVALID_ARGUMENT');
  const writer = new ByteWriter()
    .bytes(CONFIG_MAGIC)
    .u8(config.version)
    .u8(config.flags)
    .bytes(config.repositoryId)
    .u64(config.createdAt)
    .u64(config.generation)
    .lengthPrefixed(2, config.params)
    .u16(config.keyslots.length);
  for (const slot of config.keyslots) writer.lengthPrefixed(2, encodeKeyslot(slot));
  return writer.finish();
}

export function encodeConfigHeader(config: ConfigHeader, mac: Uint8Array): Uint8Array {
  if (!(mac instanceof Uint8Array) || mac.length !== HMAC_SHA256_BYTES) fail('E_INVALID_ARGUMENT', 'config mac must be 32 bytes');
  return new ByteWriter().bytes(encodeConfigBody(config)).bytes(mac).finish();
}

export interface ParsedConfigHeader {
  readonly config: ConfigHeader;
  /** The exact bytes the MAC covers, as read (never re-encoded). */
  readonly body: Uint8Array;
  readonly mac: Uint8Array;
}

export function parseConfigHeader(bytes: Uint8Array): ParsedConfigHeader {
  if (!(bytes instanceof Uint8Array)) fail('E_INVALID_ARGUMENT', 'config must be a Uint8Array');
  const reader = new ByteReader(bytes, 'config');
  const magic = reader.bytesOf(CONFIG_MAGIC.length, 'magic');
  if (!constantTimeEqual(magic, CONFIG_MAGIC)) fail('E_FORMAT', 'not a Coffer repository config (bad magic)');
  const version = reader.u8('version');
  if (version !== CONFIG_VERSION) fail('E_UNSUPPORTED_VERSION', `config version ${String(version)} is not supported`);
  const flags = reader.u8('flags');
  if (flags !== 0) fail('E_UNSUPPORTED_VERSION', 'config sets flags this version does not know');
  const repositoryId = reader.bytesOf(16, 'repository id');
  const createdAt = reader.u64('createdAt');
  const generation = reader.u64('generation');
  if (generation < 1) fail('E_FORMAT', 'config generation must be at least 1');
  const params = reader.lengthPrefixed(2, MAX_CONFIG_PARAMS_BYTES, 'params');
  const count = reader.u16('slot count');
  if (count < 1) fail('E_FORMAT', 'config has no keyslot');
  if (count > MAX_KEYSLOTS) fail('E_TOO_LARGE', `config declares ${String(count)} keyslots, limit ${String(MAX_KEYSLOTS)}`);
  const keyslots: Keyslot[] = [];
  for (let i = 0; i < count; i++) keyslots.push(parseKeyslot(reader.lengthPrefixed(2, MAX_KEYSLOT_BYTES, `keyslot ${String(i)}`)));
  checkDistinctSlotIds(keyslots, 'E_FORMAT');
  const bodyLength = reader.position;
  const mac = reader.bytesOf(HMAC_SHA256_BYTES, 'mac');
  reader.expectEnd();
  return {
    config: { version, flags, repositoryId, createdAt, generation, params, keyslots },
    body: bytes.slice(0, bodyLength),
    mac,
  };
}

function checkDistinctSlotIds(slots: readonly Keyslot[], code: 'E_FORMAT' | 'E_INVALID_ARGUMENT'): void {
  const seen = new Set<string>();
  for (const slot of slots) {
    if (slot.slotId.length !== SLOT_ID_BYTES) continue; // encodeKeyslot reports the length
    const id = Array.from(slot.slotId).join(',');
    if (seen.has(id)) fail(code, 'two keyslots share one slot id');
    seen.add(id);
  }
}
