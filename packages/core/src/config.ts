/**
 * Keyed operations on the repository config (format.md §5.2): create a
 * repository, unlock it with any one method, add and remove unlock methods.
 * Every rewrite re-MACs the header and bumps its generation; the root key and
 * so every data key stay the same.
 */
import { assertBytes, assertObject, concatBytes, constantTimeEqual, toHex, utf8 } from './bytes.ts';
import { CofferError, fail } from './errors.ts';
import { CONFIG_VERSION, type ConfigHeader, encodeConfigBody, encodeConfigHeader, parseConfigHeader } from './formats/config-header.ts';
import { type Keyslot, KEYSLOT_TYPE_CODES, keyslotTypeName } from './formats/keyslot.ts';
import { type SlotDescription, decodeSlotMetadata } from './formats/slot-metadata.ts';
import { deriveSubkey, generateRepositoryId, generateRootKey, ROOT_KEY_BYTES } from './key-hierarchy.ts';
import { type UnlockSecret, createKeyslot, openKeyslot } from './keyslots.ts';
import { LABELS } from './labels.ts';
import { hmacSha256, hmacSha256Verify } from './primitives.ts';

export interface NewKeyslot {
  readonly description: SlotDescription;
  readonly secret: UnlockSecret;
}

export interface InitRepositoryInput extends NewKeyslot {
  readonly params?: Uint8Array;
  /** Milliseconds since the epoch; defaults to Date.now(). */
  readonly createdAt?: number;
}

export interface UnlockedRepository {
  readonly config: ConfigHeader;
  readonly rootKey: Uint8Array;
  /** The slot that opened. */
  readonly slot: Keyslot;
  /** The verified config MAC: with the generation, what a client remembers (format.md §5.3). */
  readonly mac: Uint8Array;
}

/** What a client remembers of the newest config it verified, per repository. */
export interface SeenConfig {
  readonly generation: number;
  readonly mac: Uint8Array;
}

/** A new repository: fresh root key and repository id, one keyslot, generation 1. */
export async function initRepository(input: InitRepositoryInput): Promise<{ configBytes: Uint8Array } & UnlockedRepository> {
  assertObject(input, 'repository input');
  const rootKey = generateRootKey();
  const repositoryId = generateRepositoryId();
  const slot = await createKeyslot({ repositoryId, rootKey, description: input.description, secret: input.secret });
  const config: ConfigHeader = {
    version: CONFIG_VERSION,
    flags: 0,
    repositoryId,
    createdAt: input.createdAt ?? Date.now(),
    generation: 1,
    params: input.params ?? new Uint8Array(0),
    keyslots: [slot],
  };
  const configBytes = await sealConfig(config, rootKey);
  return { configBytes, config, rootKey, slot, mac: configBytes.slice(-32) };
}

/** Encodes `config` and appends its MAC under the root key's config-MAC subkey. */
export async function sealConfig(config: ConfigHeader, rootKey: Uint8Array): Promise<Uint8Array> {
  const body = encodeConfigBody(config);
  const mac = await hmacSha256(await configMacKey(rootKey, config.repositoryId), configMacInput(body));
  return encodeConfigHeader(config, mac);
}

/**
 * Opens the config with one unlock method. With `slotId`, only that slot is
 * tried (passkeys need it: their PRF input is per slot); otherwise every slot of
 * the secret's type is. Then the header MAC is verified with the unwrapped root
 * key, so a config whose other slots or params were altered is refused too.
 */
export async function unlockRepository(configBytes: Uint8Array, secret: UnlockSecret, options: { slotId?: Uint8Array } = {}): Promise<UnlockedRepository> {
  assertObject(secret, 'unlock secret');
  if (options.slotId !== undefined) assertBytes(options.slotId, 'slot id');
  const parsed = parseConfigHeader(configBytes);
  const { config } = parsed;
  if (!Object.hasOwn(KEYSLOT_TYPE_CODES, secret.type)) fail('E_INVALID_ARGUMENT', 'unknown unlock secret type');
  const wanted = KEYSLOT_TYPE_CODES[secret.type];
  const candidates = config.keyslots.filter(
    (slot) => slot.type === wanted && (options.slotId === undefined || toHex(slot.slotId) === toHex(options.slotId)),
  );
  if (candidates.length === 0) {
    fail('E_WRONG_KEY', options.slotId === undefined ? `the repository has no ${secret.type} slot` : `no ${secret.type} slot has that id`);
  }
  let lastError: unknown;
  for (const slot of candidates) {
    try {
      const rootKey = await openKeyslot(config.repositoryId, slot, secret);
      const key = await configMacKey(rootKey, config.repositoryId);
      if (!(await hmacSha256Verify(key, configMacInput(parsed.body), parsed.mac))) {
        fail('E_AUTH_FAILED', 'the repository config was modified (header MAC mismatch)');
      }
      return { config, rootKey, slot, mac: parsed.mac };
    } catch (error) {
      // Only "not this key" moves on to the next slot; tampering stops at once.
      if (!(error instanceof CofferError) || error.code !== 'E_WRONG_KEY') throw error;
      lastError = error;
    }
  }
  throw lastError instanceof CofferError ? lastError : new CofferError('E_WRONG_KEY', `no ${secret.type} slot opens with this key`);
}

/** Adds an unlock method. The caller proves possession of the root key by having unlocked the repository. */
export async function addKeyslot(unlocked: UnlockedRepository, added: NewKeyslot): Promise<UnlockedRepository & { configBytes: Uint8Array; added: Keyslot }> {
  const slot = await createKeyslot({ repositoryId: unlocked.config.repositoryId, rootKey: unlocked.rootKey, ...added });
  const config = nextGeneration(unlocked.config, [...unlocked.config.keyslots, slot]);
  const configBytes = await sealConfig(config, unlocked.rootKey);
  return { ...unlocked, configBytes, config, added: slot, mac: configBytes.slice(-32) };
}

/** Removes an unlock method; refuses to remove the last one (`E_LAST_KEYSLOT`). */
export async function removeKeyslot(unlocked: UnlockedRepository, slotId: Uint8Array): Promise<UnlockedRepository & { configBytes: Uint8Array }> {
  assertBytes(slotId, 'slot id');
  const id = toHex(slotId);
  const remaining = unlocked.config.keyslots.filter((slot) => toHex(slot.slotId) !== id);
  if (remaining.length === unlocked.config.keyslots.length) fail('E_INVALID_ARGUMENT', 'no keyslot has that id');
  const openable = remaining.filter((slot) => keyslotTypeName(slot.type) !== undefined);
  if (openable.length === 0) fail('E_LAST_KEYSLOT', 'refusing to remove the last unlock method: the backup would be lost');
  const config = nextGeneration(unlocked.config, remaining);
  const configBytes = await sealConfig(config, unlocked.rootKey);
  return { ...unlocked, configBytes, config, mac: configBytes.slice(-32) };
}

/**
 * Refuses a config older than the newest one this client verified, and a fork:
 * another config with the same generation (format.md §5.3). Call it only with a
 * config whose MAC verified (an UnlockedRepository), then remember the result.
 */
export function checkConfigFreshness(current: UnlockedRepository, seen: SeenConfig | undefined): SeenConfig {
  assertObject(current, 'unlocked repository');
  assertBytes(current.mac, 'config mac');
  if (seen !== undefined) {
    assertObject(seen, 'seen config');
    assertBytes(seen.mac, 'seen config mac');
    if (!Number.isSafeInteger(seen.generation)) fail('E_INVALID_ARGUMENT', 'seen config generation must be an integer');
  }
  const now: SeenConfig = { generation: current.config.generation, mac: current.mac.slice() };
  if (seen === undefined) return now;
  if (now.generation < seen.generation) {
    fail('E_ROLLBACK', `the repository config is generation ${String(now.generation)}, older than generation ${String(seen.generation)} seen before`);
  }
  if (now.generation === seen.generation && !constantTimeEqual(now.mac, seen.mac)) {
    fail('E_ROLLBACK', `the repository presents a different config of generation ${String(now.generation)} than the one seen before (a fork)`);
  }
  return now;
}

export interface KeyslotSummary {
  readonly slotId: string;
  readonly typeCode: number;
  /** Absent for slot types this version does not know; such slots are kept, never opened. */
  readonly description?: SlotDescription;
}

export function describeKeyslots(config: ConfigHeader): KeyslotSummary[] {
  return config.keyslots.map((slot) => {
    const summary = { slotId: toHex(slot.slotId), typeCode: slot.type };
    return keyslotTypeName(slot.type) === undefined ? summary : { ...summary, description: decodeSlotMetadata(slot.type, slot.metadata) };
  });
}

function nextGeneration(config: ConfigHeader, keyslots: readonly Keyslot[]): ConfigHeader {
  return { ...config, generation: config.generation + 1, keyslots };
}

async function configMacKey(rootKey: Uint8Array, repositoryId: Uint8Array): Promise<Uint8Array> {
  assertBytes(rootKey, 'root key', ROOT_KEY_BYTES);
  return deriveSubkey(rootKey, repositoryId, 'configMac');
}

function configMacInput(body: Uint8Array): Uint8Array {
  return concatBytes(utf8(LABELS.configMac), body);
}
