/**
 * Every domain-separation label Coffer feeds to HKDF, HMAC or AES-GCM AAD.
 * Each label names its purpose and carries the format version, so a key or tag
 * made for one purpose can never be accepted for another, nor by a later
 * version that changes the construction. `docs/format.md` §3 lists the same
 * strings; a test reads that table and compares.
 */
export const LABELS = {
  // Subkeys of the repository root key (format.md §3.2).
  blobEncryptionKey: 'coffer/v1/key/blob-encryption',
  blobIdKey: 'coffer/v1/key/blob-id',
  manifestKey: 'coffer/v1/key/manifest',
  indexKey: 'coffer/v1/key/index',
  chunkerKey: 'coffer/v1/key/chunker',
  configMacKey: 'coffer/v1/key/config-mac',
  // Slot keys, one per unlock method (format.md §4.3).
  slotPasskeyPortable: 'coffer/v1/slot/passkey-portable',
  slotPasskeyHybrid: 'coffer/v1/slot/passkey-hybrid',
  slotPassword: 'coffer/v1/slot/password',
  slotRecoveryKey: 'coffer/v1/slot/recovery-key',
  // From a slot key to its wrapping key and key-commitment tag (format.md §4.4).
  slotWrapKey: 'coffer/v1/slot/wrap',
  slotCommitment: 'coffer/v1/slot/commit',
  // Prefix of the WebAuthn PRF input of a passkey slot (format.md §4.3).
  passkeyPrfInput: 'coffer/v1/passkey-prf',
  // Associated-data prefixes (format.md §4.4, §5).
  slotAad: 'coffer/v1/keyslot',
  configMac: 'coffer/v1/config',
  // The engine's per-object keys and associated data (format.md §10).
  packKey: 'coffer/v1/pack',
  blobAad: 'coffer/v1/blob',
  packHeaderAad: 'coffer/v1/pack-header',
  packPaddingAad: 'coffer/v1/pack-padding',
  indexFileKey: 'coffer/v1/index-file',
  snapshotKey: 'coffer/v1/snapshot',
  lockKey: 'coffer/v1/lock',
  // The keyed content-defined chunker (format.md §9.4).
  chunkerGear: 'coffer/v1/chunker/gear',
  chunkerMasks: 'coffer/v1/chunker/masks',
  // Recovery-key sign-in: the Ed25519 seed and the signed message (format.md §7.6).
  recoverySignInKey: 'coffer/v1/recovery-sign-in',
  recoverySignInMessage: 'coffer/v1/recovery-sign-in/message',
} as const;

export type LabelName = keyof typeof LABELS;
