/**
 * Keyslots: each wraps the repository root key under a key only one unlock
 * method can produce (format.md §4.3–4.4).
 *
 *   slot_key   = HKDF-SHA256(ikm = unlock secret, salt = kdf_salt, info = type label)
 *   wrap_key   = HKDF-SHA256(ikm = slot_key, salt = "", info = "coffer/v1/slot/wrap")
 *   commitment = HKDF-SHA256(ikm = slot_key, salt = "", info = "coffer/v1/slot/commit")
 *   aad        = "coffer/v1/keyslot" ‖ repository_id ‖ keyslot bytes before the nonce
 *   wrapped    = AES-256-GCM(wrap_key, nonce, root_key, aad)
 *
 * The commitment makes the wrap key-committing: AES-GCM alone lets one
 * ciphertext verify under many keys (partitioning oracles, Len et al. 2021),
 * which matters for the password slot. It is checked, in constant time, before
 * any decryption; a mismatch means "not this key" (`E_WRONG_KEY`), while a
 * matching key with failing GCM means the slot was altered (`E_AUTH_FAILED`).
 */
import { assertBytes, assertObject, concatBytes, constantTimeEqual, utf8, wipe } from './bytes.ts';
import { fail } from './errors.ts';
import { KDF_SALT_BYTES, KEYSLOT_TYPE_CODES, KEYSLOT_VERSION, type Keyslot, type KeyslotType, SLOT_ID_BYTES, encodeKeyslotPrefix, keyslotTypeName } from './formats/keyslot.ts';
import { PRF_SALT_BYTES, type SlotDescription, encodeSlotMetadata } from './formats/slot-metadata.ts';
import { REPOSITORY_ID_BYTES, ROOT_KEY_BYTES } from './key-hierarchy.ts';
import { LABELS } from './labels.ts';
import { GCM_NONCE_BYTES, aesGcmDecrypt, aesGcmEncrypt, hkdfSha256, importAesGcmKey, randomBytes } from './primitives.ts';
import { RECOVERY_KEY_SECRET_SYMBOLS, type RecoveryKey } from './recovery-key.ts';

export const PRF_OUTPUT_BYTES = 32;
export const SERVER_SHARE_BYTES = 32;
export const OPAQUE_EXPORT_KEY_BYTES = 64;
export const VAULT_SHARE_BYTES = 32;

/** What each unlock method contributes. None of it is ever stored or sent anywhere by core. */
export type UnlockSecret =
  | { readonly type: 'passkey-portable'; readonly prfOutput: Uint8Array }
  | { readonly type: 'passkey-hybrid'; readonly prfOutput: Uint8Array; readonly serverShare: Uint8Array }
  | { readonly type: 'password'; readonly exportKey: Uint8Array; readonly vaultShare: Uint8Array }
  | { readonly type: 'recovery-key'; readonly recoveryKey: RecoveryKey };

const SLOT_LABELS: Record<KeyslotType, string> = {
  'passkey-portable': LABELS.slotPasskeyPortable,
  'passkey-hybrid': LABELS.slotPasskeyHybrid,
  password: LABELS.slotPassword,
  'recovery-key': LABELS.slotRecoveryKey,
};

/** The input keying material of each method, checked for exact lengths (format.md §4.3). */
export function unlockSecretIkm(secret: UnlockSecret): Uint8Array {
  assertObject(secret, 'unlock secret');
  switch (secret.type) {
    case 'passkey-portable':
      assertBytes(secret.prfOutput, 'PRF output', PRF_OUTPUT_BYTES);
      return secret.prfOutput.slice();
    case 'passkey-hybrid':
      assertBytes(secret.prfOutput, 'PRF output', PRF_OUTPUT_BYTES);
      assertBytes(secret.serverShare, 'server share', SERVER_SHARE_BYTES);
      return concatBytes(secret.prfOutput, secret.serverShare);
    case 'password':
      assertBytes(secret.exportKey, 'OPAQUE export key', OPAQUE_EXPORT_KEY_BYTES);
      assertBytes(secret.vaultShare, 'vault share', VAULT_SHARE_BYTES);
      return concatBytes(secret.exportKey, secret.vaultShare);
    case 'recovery-key':
      assertObject(secret.recoveryKey, 'recovery key');
      assertBytes(secret.recoveryKey.secret, 'recovery key secret', RECOVERY_KEY_SECRET_SYMBOLS);
      return secret.recoveryKey.secret.slice();
    default:
      return fail('E_INVALID_ARGUMENT', 'unknown unlock secret type');
  }
}

export async function deriveSlotKey(secret: UnlockSecret, kdfSalt: Uint8Array): Promise<Uint8Array> {
  assertBytes(kdfSalt, 'kdf salt', KDF_SALT_BYTES);
  const ikm = unlockSecretIkm(secret);
  try {
    return await hkdfSha256(ikm, kdfSalt, utf8(SLOT_LABELS[secret.type]), 32);
  } finally {
    wipe(ikm);
  }
}

async function wrapKeyAndCommitment(slotKey: Uint8Array): Promise<{ wrapKey: Uint8Array; commitment: Uint8Array }> {
  const empty = new Uint8Array(0);
  const [wrapKey, commitment] = await Promise.all([
    hkdfSha256(slotKey, empty, utf8(LABELS.slotWrapKey), 32),
    hkdfSha256(slotKey, empty, utf8(LABELS.slotCommitment), 32),
  ]);
  return { wrapKey, commitment };
}

export function keyslotAad(repositoryId: Uint8Array, slot: Omit<Keyslot, 'nonce' | 'wrappedRootKey' | 'commitment'>): Uint8Array {
  assertBytes(repositoryId, 'repository id', REPOSITORY_ID_BYTES);
  return concatBytes(utf8(LABELS.slotAad), repositoryId, encodeKeyslotPrefix(slot));
}

/**
 * The WebAuthn PRF input (`prf.eval.first`) for a passkey slot:
 * "coffer/v1/passkey-prf" ‖ prf_salt. The label keeps Coffer's PRF outputs apart
 * from any other use of the same credential on the same relying party.
 */
export function passkeyPrfInput(prfSalt: Uint8Array): Uint8Array {
  assertBytes(prfSalt, 'PRF salt', PRF_SALT_BYTES);
  return concatBytes(utf8(LABELS.passkeyPrfInput), prfSalt);
}

export interface CreateKeyslotInput {
  readonly repositoryId: Uint8Array;
  readonly rootKey: Uint8Array;
  readonly description: SlotDescription;
  readonly secret: UnlockSecret;
  /** Defaults to 16 random bytes. */
  readonly slotId?: Uint8Array;
}

/** Wraps the root key into a new keyslot. The description's type and the secret's type must agree. */
export async function createKeyslot(input: CreateKeyslotInput): Promise<Keyslot> {
  assertObject(input, 'keyslot input');
  assertObject(input.description, 'slot description');
  assertObject(input.secret, 'unlock secret');
  assertBytes(input.rootKey, 'root key', ROOT_KEY_BYTES);
  if (input.description.type !== input.secret.type) fail('E_INVALID_ARGUMENT', 'slot description and unlock secret are of different types');
  const slotId = input.slotId ?? randomBytes(SLOT_ID_BYTES);
  assertBytes(slotId, 'slot id', SLOT_ID_BYTES);
  const prefix = {
    version: KEYSLOT_VERSION,
    type: KEYSLOT_TYPE_CODES[input.description.type],
    slotId,
    metadata: encodeSlotMetadata(input.description),
    kdfSalt: randomBytes(KDF_SALT_BYTES),
  };
  const slotKey = await deriveSlotKey(input.secret, prefix.kdfSalt);
  const { wrapKey, commitment } = await wrapKeyAndCommitment(slotKey);
  try {
    const nonce = randomBytes(GCM_NONCE_BYTES);
    const key = await importAesGcmKey(wrapKey);
    const wrappedRootKey = await aesGcmEncrypt(key, nonce, input.rootKey, keyslotAad(input.repositoryId, prefix));
    return { ...prefix, nonce, wrappedRootKey, commitment };
  } finally {
    wipe(slotKey, wrapKey);
  }
}

/**
 * Unwraps the root key from `slot` with `secret`. Order matters: type check,
 * then the key-commitment check (`E_WRONG_KEY`), then AES-GCM with the AAD
 * (`E_AUTH_FAILED`). No key material is returned unless both pass.
 */
export async function openKeyslot(repositoryId: Uint8Array, slot: Keyslot, secret: UnlockSecret): Promise<Uint8Array> {
  assertObject(slot, 'keyslot');
  assertObject(secret, 'unlock secret');
  const type = keyslotTypeName(slot.type);
  if (type === undefined) fail('E_UNSUPPORTED_VERSION', `keyslot type ${String(slot.type)} needs a newer Coffer`);
  if (type !== secret.type) fail('E_INVALID_ARGUMENT', `this is a ${type} slot, not ${secret.type}`);
  const aad = keyslotAad(repositoryId, slot);
  const slotKey = await deriveSlotKey(secret, slot.kdfSalt);
  const { wrapKey, commitment } = await wrapKeyAndCommitment(slotKey);
  try {
    if (!constantTimeEqual(commitment, slot.commitment)) fail('E_WRONG_KEY', `this ${type} does not open the keyslot`);
    const key = await importAesGcmKey(wrapKey);
    const rootKey = await aesGcmDecrypt(key, slot.nonce, slot.wrappedRootKey, aad);
    if (rootKey.length !== ROOT_KEY_BYTES) fail('E_FORMAT', 'unwrapped root key has the wrong length');
    return rootKey;
  } finally {
    wipe(slotKey, wrapKey);
  }
}
