export * from './errors.ts';
export { ByteReader, ByteWriter, assertBytes, concatBytes, constantTimeEqual, fromHex, joinBytes, toHex, wipe } from './bytes.ts';
export * from './labels.ts';
export {
  AES_256_KEY_BYTES,
  GCM_NONCE_BYTES,
  GCM_TAG_BYTES,
  HKDF_SHA256_MAX_OUTPUT,
  HMAC_SHA256_BYTES,
  aesGcmDecrypt,
  aesGcmEncrypt,
  hkdfSha256,
  hmacSha256,
  hmacSha256Verify,
  importAesGcmKey,
  randomBytes,
} from './primitives.ts';
export * from './key-hierarchy.ts';
export * from './seal.ts';
export * from './recovery-key.ts';
export * from './recovery-signing.ts';
export * from './keyslots.ts';
export * from './config.ts';
export * from './formats/blob-frame.ts';
export * from './formats/keyslot.ts';
export * from './formats/slot-metadata.ts';
export * from './formats/config-header.ts';
