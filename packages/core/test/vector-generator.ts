/**
 * Produces every vector file of packages/core/test/vectors from a seeded
 * generator, through the library's own API plus deliberate damage for the
 * negative cases. Isomorphic (no I/O): scripts/generate-vectors.ts writes the
 * files, and vectors.test.ts checks that the committed files equal this output.
 */
import {
  KEYSLOT_TYPE_CODES,
  type ConfigHeader,
  type Keyslot,
  type RecoveryKey,
  type SlotDescription,
  type UnlockSecret,
  SealingKey,
  LABELS,
  concatBytes,
  createKeyslot,
  deriveRecoverySigningKey,
  deriveSlotKey,
  hkdfSha256,
  keyslotAad,
  deriveRepositoryKeys,
  encodeKeyslot,
  encodeSlotMetadata,
  formatRecoveryKey,
  generateRecoveryKey,
  generateRepositoryId,
  generateRootKey,
  parseConfigHeader,
  randomBytes,
  recoverySignInMessage,
  recoverySignInSeed,
  sealConfig,
  signRecoveryChallenge,
  toHex,
  type RecoverySignInContext,
} from '../src/index.ts';
import { _randomInternals } from '../src/primitives.ts';
import { serializeVectorFile } from './vector-file.ts';

type Fields = [string, string][];
type Files = Map<string, string>;

const CREATED_AT = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/** splitmix32: deterministic bytes for reproducible vectors. Not for keys anyone uses. */
function seededFill(seed: number): (target: Uint8Array<ArrayBuffer>) => void {
  let state = seed >>> 0;
  return (target) => {
    for (let i = 0; i < target.length; i++) {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      target[i] = (z ^ (z >>> 16)) & 0xff;
    }
  };
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (1 << (7 - (bit & 7)));
  return out;
}

function secretFields(secret: UnlockSecret): Fields {
  switch (secret.type) {
    case 'passkey-portable':
      return [['prf-output', toHex(secret.prfOutput)]];
    case 'passkey-hybrid':
      return [['prf-output', toHex(secret.prfOutput)], ['server-share', toHex(secret.serverShare)]];
    case 'password':
      return [['export-key', toHex(secret.exportKey)], ['vault-share', toHex(secret.vaultShare)]];
    case 'recovery-key':
      return [['recovery-key', secret.recoveryKey.text]];
  }
}

function passkeyDescription(type: 'passkey-portable' | 'passkey-hybrid', label: string): SlotDescription {
  return {
    type,
    metadata: {
      label,
      createdAt: CREATED_AT,
      lastUsedAt: 0,
      credentialId: randomBytes(32),
      rpId: 'chat.example.org',
      prfSalt: randomBytes(32),
      aaguid: randomBytes(16),
      provider: 'Example Passkeys',
    },
  };
}

const recoveryDescription: SlotDescription = { type: 'recovery-key', metadata: { label: 'Recovery key', createdAt: CREATED_AT, lastUsedAt: 0 } };
const passwordDescription: SlotDescription = {
  type: 'password',
  metadata: { label: 'Password', createdAt: CREATED_AT, lastUsedAt: CREATED_AT + 86_400_000, vaultAccount: 'https://chat.example.org/#alice' },
};

function add(files: Files, name: string, fields: Fields): void {
  if (files.has(`${name}.vector`)) throw new Error(`duplicate vector ${name}`);
  files.set(`${name}.vector`, serializeVectorFile(fields));
}

async function subkeyVectors(files: Files): Promise<void> {
  const rootKey = generateRootKey();
  const repositoryId = generateRepositoryId();
  const keys = await deriveRepositoryKeys(rootKey, repositoryId);
  add(files, 'subkeys', [
    ['kind', 'subkeys'],
    ['description', 'the six subkeys of a root key (format.md §3.2)'],
    ['root-key', toHex(rootKey)],
    ['repository-id', toHex(repositoryId)],
    ['expect', 'success'],
    ['blob-encryption', toHex(keys.blobEncryption)],
    ['blob-id', toHex(keys.blobId)],
    ['manifest', toHex(keys.manifest)],
    ['index', toHex(keys.index)],
    ['chunker', toHex(keys.chunker)],
    ['config-mac', toHex(keys.configMac)],
  ]);
}

function recoveryKeyVectors(files: Files): void {
  const key = generateRecoveryKey();
  const ok = (name: string, description: string, input: string): void => {
    add(files, name, [['kind', 'recovery-key'], ['description', description], ['input', input], ['expect', 'success'], ['secret', toHex(key.secret)], ['text', key.text]]);
  };
  const bad = (name: string, description: string, input: string, code: string): void => {
    add(files, name, [['kind', 'recovery-key'], ['description', description], ['input', input], ['expect', code]]);
  };
  const compact = key.text.replaceAll('-', '');
  ok('recovery-key-valid', 'a recovery key as displayed', key.text);
  ok('recovery-key-lowercase-spaces', 'lower case with spaces between groups', key.text.toLowerCase().replaceAll('-', ' '));
  ok('recovery-key-no-separators', 'the 64 characters without separators', compact);
  const alphabet = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
  const at = 17;
  const original = compact.charAt(at);
  const replacement = alphabet.charAt((alphabet.indexOf(original) + 1) % alphabet.length);
  bad('recovery-key-typo-substitution', 'one character replaced by another of the alphabet', compact.slice(0, at) + replacement + compact.slice(at + 1), 'E_RECOVERY_KEY_TYPO');
  let swap = 0;
  while (compact.charAt(swap) === compact.charAt(swap + 1)) swap++;
  bad('recovery-key-typo-swap', 'two different neighbours swapped', compact.slice(0, swap) + compact.charAt(swap + 1) + compact.charAt(swap) + compact.slice(swap + 2), 'E_RECOVERY_KEY_TYPO');
  bad('recovery-key-typo-lookalike', 'the letter O, which recovery keys never use', `O${compact.slice(1)}`, 'E_RECOVERY_KEY_TYPO');
  bad('recovery-key-too-short', 'one group missing', key.text.slice(0, -5), 'E_RECOVERY_KEY_FORMAT');
  bad('recovery-key-too-long', 'one character too many', `${key.text}A`, 'E_RECOVERY_KEY_FORMAT');
  bad('recovery-key-checksum-wrong', 'a valid-looking key whose check symbols are wrong', formatRecoveryKey(key.secret).slice(0, -1) + (key.text.endsWith('2') ? '3' : '2'), 'E_RECOVERY_KEY_TYPO');
}

interface SlotFixture {
  readonly repositoryId: Uint8Array;
  readonly rootKey: Uint8Array;
  readonly slot: Keyslot;
  readonly secret: UnlockSecret;
}

async function makeSlot(description: SlotDescription, secret: UnlockSecret, repositoryId = generateRepositoryId(), rootKey = generateRootKey()): Promise<SlotFixture> {
  const slot = await createKeyslot({ repositoryId, rootKey, description, secret });
  return { repositoryId, rootKey, slot, secret };
}

async function keyslotFile(files: Files, name: string, description: string, repositoryId: Uint8Array, slotBytes: Uint8Array, secret: UnlockSecret, expect: string, opened?: { rootKey: Uint8Array; slot: Keyslot }): Promise<void> {
  const fields: Fields = [
    ['kind', 'keyslot-open'],
    ['description', description],
    ['repository-id', toHex(repositoryId)],
    ['keyslot', toHex(slotBytes)],
    ...secretFields(secret),
    ['expect', expect],
  ];
  if (opened) {
    // Intermediate values, so another implementation can find the first step where it differs.
    const slotKey = await deriveSlotKey(secret, opened.slot.kdfSalt);
    const empty = new Uint8Array(0);
    fields.push(
      ['slot-key', toHex(slotKey)],
      ['wrap-key', toHex(await hkdfSha256(slotKey, empty, new TextEncoder().encode(LABELS.slotWrapKey), 32))],
      ['commitment', toHex(await hkdfSha256(slotKey, empty, new TextEncoder().encode(LABELS.slotCommitment), 32))],
      ['aad', toHex(keyslotAad(repositoryId, opened.slot))],
      ['root-key', toHex(opened.rootKey)],
    );
  }
  add(files, name, fields);
}

async function keyslotVectors(files: Files): Promise<RecoveryKey> {
  const recoveryKey = generateRecoveryKey();
  const fixtures: [string, SlotFixture][] = [
    ['keyslot-passkey-portable', await makeSlot(passkeyDescription('passkey-portable', 'Phone'), { type: 'passkey-portable', prfOutput: randomBytes(32) })],
    ['keyslot-passkey-hybrid', await makeSlot(passkeyDescription('passkey-hybrid', 'Laptop'), { type: 'passkey-hybrid', prfOutput: randomBytes(32), serverShare: randomBytes(32) })],
    ['keyslot-password', await makeSlot(passwordDescription, { type: 'password', exportKey: randomBytes(64), vaultShare: randomBytes(32) })],
    ['keyslot-recovery-key', await makeSlot(recoveryDescription, { type: 'recovery-key', recoveryKey })],
  ];
  for (const [name, f] of fixtures) {
    await keyslotFile(files, name, `a ${f.secret.type} slot opens with its secret`, f.repositoryId, encodeKeyslot(f.slot), f.secret, 'success', f);
  }
  const [, rec] = fixtures[3] ?? [];
  const [, hybrid] = fixtures[1] ?? [];
  if (!rec || !hybrid || hybrid.secret.type !== 'passkey-hybrid') throw new Error('fixtures missing');
  const recBytes = encodeKeyslot(rec.slot);
  const prefixLength = 1 + 1 + 16 + 2 + rec.slot.metadata.length + 32;
  const wrappedAt = prefixLength + 12;
  const commitmentAt = wrappedAt + 48;
  await keyslotFile(files, 'keyslot-wrong-recovery-key', 'a well-formed recovery key of another repository: not this slot', rec.repositoryId, recBytes, { type: 'recovery-key', recoveryKey: generateRecoveryKey() }, 'E_WRONG_KEY');
  await keyslotFile(files, 'keyslot-hybrid-wrong-server-share', 'the right PRF output with another server share', hybrid.repositoryId, encodeKeyslot(hybrid.slot), { ...hybrid.secret, serverShare: randomBytes(32) }, 'E_WRONG_KEY');
  await keyslotFile(files, 'keyslot-flipped-wrapped-key', 'one bit of the wrapped root key flipped', rec.repositoryId, flipBit(recBytes, wrappedAt * 8 + 3), rec.secret, 'E_AUTH_FAILED');
  await keyslotFile(files, 'keyslot-flipped-tag', 'one bit of the GCM tag flipped', rec.repositoryId, flipBit(recBytes, (commitmentAt - 1) * 8), rec.secret, 'E_AUTH_FAILED');
  await keyslotFile(files, 'keyslot-flipped-metadata', 'one bit of the public metadata (the label) flipped', rec.repositoryId, flipBit(recBytes, 21 * 8 + 1), rec.secret, 'E_AUTH_FAILED');
  await keyslotFile(files, 'keyslot-flipped-nonce', 'one bit of the nonce flipped', rec.repositoryId, flipBit(recBytes, prefixLength * 8 + 5), rec.secret, 'E_AUTH_FAILED');
  await keyslotFile(files, 'keyslot-flipped-commitment', 'one bit of the commitment flipped', rec.repositoryId, flipBit(recBytes, commitmentAt * 8 + 7), rec.secret, 'E_WRONG_KEY');
  await keyslotFile(files, 'keyslot-flipped-kdf-salt', 'one bit of the kdf salt flipped: another slot key', rec.repositoryId, flipBit(recBytes, (prefixLength - 32) * 8), rec.secret, 'E_WRONG_KEY');
  await keyslotFile(files, 'keyslot-other-repository', 'a slot moved to another repository id', generateRepositoryId(), recBytes, rec.secret, 'E_AUTH_FAILED');
  await keyslotFile(files, 'keyslot-truncated', 'the last byte of the commitment missing', rec.repositoryId, recBytes.slice(0, -1), rec.secret, 'E_TRUNCATED');
  await keyslotFile(files, 'keyslot-trailing-byte', 'one byte after the commitment', rec.repositoryId, concatBytes(recBytes, Uint8Array.of(0)), rec.secret, 'E_FORMAT');
  await keyslotFile(files, 'keyslot-version-2', 'a keyslot of version 2', rec.repositoryId, concatBytes(Uint8Array.of(2), recBytes.slice(1)), rec.secret, 'E_UNSUPPORTED_VERSION');
  await keyslotFile(files, 'keyslot-unknown-type', 'a keyslot of type 9, which this version does not know', rec.repositoryId, concatBytes(recBytes.slice(0, 1), Uint8Array.of(9), recBytes.slice(2)), rec.secret, 'E_UNSUPPORTED_VERSION');
  await keyslotFile(files, 'keyslot-type-zero', 'the reserved type 0', rec.repositoryId, concatBytes(recBytes.slice(0, 1), Uint8Array.of(0), recBytes.slice(2)), rec.secret, 'E_FORMAT');
  const hugeMetadata = recBytes.slice();
  hugeMetadata[18] = 0xff;
  hugeMetadata[19] = 0xff;
  await keyslotFile(files, 'keyslot-metadata-length-huge', 'metadata_len 65535, above the 4096 limit', rec.repositoryId, hugeMetadata, rec.secret, 'E_TOO_LARGE');
  return recoveryKey;
}

function configFile(files: Files, name: string, description: string, configBytes: Uint8Array, secret: UnlockSecret, expect: string, success?: { rootKey: Uint8Array; generation: number; slotId: Uint8Array; configMacKey: Uint8Array }, slotId?: Uint8Array): void {
  const fields: Fields = [['kind', 'config-open'], ['description', description], ['config', toHex(configBytes)], ...secretFields(secret)];
  if (slotId) fields.push(['slot-id', toHex(slotId)]);
  fields.push(['expect', expect]);
  if (success) {
    fields.push(['root-key', toHex(success.rootKey)], ['generation', String(success.generation)], ['opened-slot-id', toHex(success.slotId)], ['config-mac-key', toHex(success.configMacKey)]);
  }
  add(files, name, fields);
}

async function configVectors(files: Files): Promise<void> {
  const rootKey = generateRootKey();
  const repositoryId = generateRepositoryId();
  const recoveryKey = generateRecoveryKey();
  const recovery: UnlockSecret = { type: 'recovery-key', recoveryKey };
  const password: UnlockSecret = { type: 'password', exportKey: randomBytes(64), vaultShare: randomBytes(32) };
  const recSlot = await createKeyslot({ repositoryId, rootKey, description: recoveryDescription, secret: recovery });
  const pwSlot = await createKeyslot({ repositoryId, rootKey, description: passwordDescription, secret: password });
  const config: ConfigHeader = { version: 1, flags: 0, repositoryId, createdAt: CREATED_AT, generation: 3, params: new Uint8Array([1, 2, 3, 4]), keyslots: [pwSlot, recSlot] };
  const bytes = await sealConfig(config, rootKey);
  const { configMac } = await deriveRepositoryKeys(rootKey, repositoryId);
  const success = (slot: Keyslot): { rootKey: Uint8Array; generation: number; slotId: Uint8Array; configMacKey: Uint8Array } => ({ rootKey, generation: 3, slotId: slot.slotId, configMacKey: configMac });

  configFile(files, 'config-recovery-key', 'a config with a password and a recovery-key slot, opened with the recovery key', bytes, recovery, 'success', success(recSlot));
  configFile(files, 'config-password-slot-id', 'the same config opened through the password slot, chosen by id', bytes, password, 'success', success(pwSlot), pwSlot.slotId);
  configFile(files, 'config-wrong-key', 'a well-formed recovery key that opens no slot', bytes, { type: 'recovery-key', recoveryKey: generateRecoveryKey() }, 'E_WRONG_KEY');
  configFile(files, 'config-no-slot-of-type', 'a passkey secret for a config without passkey slots', bytes, { type: 'passkey-portable', prfOutput: randomBytes(32) }, 'E_WRONG_KEY');
  configFile(files, 'config-flipped-mac', 'one bit of the MAC flipped', flipBit(bytes, (bytes.length - 1) * 8), recovery, 'E_AUTH_FAILED');
  // The password slot is first: flipping a bit of its label leaves the recovery slot intact, so only the MAC can tell.
  const pwLabelOffset = 8 + 1 + 1 + 16 + 8 + 8 + 2 + 4 + 2 + 2 + 1 + 1 + 16 + 2 + 1;
  configFile(files, 'config-flipped-other-slot', 'one bit of the unused password slot flipped; caught by the header MAC', flipBit(bytes, pwLabelOffset * 8), recovery, 'E_AUTH_FAILED');
  configFile(files, 'config-flipped-params', 'one bit of the public params flipped', flipBit(bytes, (8 + 1 + 1 + 16 + 8 + 8 + 2) * 8 + 6), recovery, 'E_AUTH_FAILED');
  const generationAt = 8 + 1 + 1 + 16 + 8;
  const rolled = bytes.slice();
  rolled[generationAt + 7] = 2;
  configFile(files, 'config-generation-rewritten', 'the generation lowered without the root key', rolled, recovery, 'E_AUTH_FAILED');
  configFile(files, 'config-bad-magic', 'a wrong magic', concatBytes(Uint8Array.of(0x58), bytes.slice(1)), recovery, 'E_FORMAT');
  const v2 = bytes.slice();
  v2[8] = 2;
  configFile(files, 'config-version-2', 'a config of version 2', v2, recovery, 'E_UNSUPPORTED_VERSION');
  const flags = bytes.slice();
  flags[9] = 1;
  configFile(files, 'config-flags', 'a reserved flag set', flags, recovery, 'E_UNSUPPORTED_VERSION');
  configFile(files, 'config-truncated', 'the last byte of the MAC missing', bytes.slice(0, -1), recovery, 'E_TRUNCATED');
  configFile(files, 'config-trailing', 'one byte after the MAC', concatBytes(bytes, Uint8Array.of(0)), recovery, 'E_FORMAT');
  const countAt = 8 + 1 + 1 + 16 + 8 + 8 + 2 + 4;
  const zero = bytes.slice();
  zero[countAt] = 0;
  zero[countAt + 1] = 0;
  configFile(files, 'config-zero-slots', 'slot_count 0', zero, recovery, 'E_FORMAT');
  const huge = bytes.slice();
  huge[countAt] = 0xff;
  huge[countAt + 1] = 0xff;
  configFile(files, 'config-slot-count-huge', 'slot_count 65535, above the 1024 limit', huge, recovery, 'E_TOO_LARGE');

  // A slot of repository A spliced into repository B by someone holding B's root key: AAD binds the repository id.
  const rootB = generateRootKey();
  const repoB = generateRepositoryId();
  const ownB = await createKeyslot({ repositoryId: repoB, rootKey: rootB, description: passwordDescription, secret: password });
  const spliced = await sealConfig({ ...config, repositoryId: repoB, keyslots: [ownB, recSlot] }, rootB);
  configFile(files, 'config-slot-from-other-repository', "repository A's recovery slot inside repository B's config", spliced, recovery, 'E_AUTH_FAILED');

  // A slot of an unknown type is kept and skipped.
  const future: Keyslot = { ...pwSlot, type: 9, slotId: randomBytes(16), metadata: randomBytes(40) };
  const withFuture = await sealConfig({ ...config, keyslots: [future, recSlot] }, rootKey);
  configFile(files, 'config-unknown-slot-type', 'a slot of unknown type 9 is kept and skipped; the recovery slot opens', withFuture, recovery, 'success', success(recSlot));
  const parsed = parseConfigHeader(bytes);
  if (parsed.config.keyslots.length !== 2) throw new Error('config fixture broken');
}

async function duplicateSlotVector(files: Files): Promise<void> {
  const rootKey = generateRootKey();
  const repositoryId = generateRepositoryId();
  const recoveryKey = generateRecoveryKey();
  const secret: UnlockSecret = { type: 'recovery-key', recoveryKey };
  const a = await createKeyslot({ repositoryId, rootKey, description: recoveryDescription, secret });
  const b = await createKeyslot({ repositoryId, rootKey, description: recoveryDescription, secret });
  const bytes = await sealConfig({ version: 1, flags: 0, repositoryId, createdAt: CREATED_AT, generation: 1, params: new Uint8Array(0), keyslots: [a, b] }, rootKey);
  const slotsAt = 8 + 1 + 1 + 16 + 8 + 8 + 2 + 2;
  const firstId = slotsAt + 2 + 2;
  const secondId = slotsAt + 2 + encodeKeyslot(a).length + 2 + 2;
  // The encoder refuses duplicate ids, so copy the first slot's id over the second's by hand.
  const duplicated = bytes.slice();
  duplicated.set(bytes.slice(firstId, firstId + 16), secondId);
  configFile(files, 'config-duplicate-slot-id', 'two slots with one slot id', duplicated, secret, 'E_FORMAT');
}

async function blobVectors(files: Files): Promise<void> {
  const keyBytes = randomBytes(32);
  const key = await SealingKey.import(keyBytes);
  const aad = concatBytes(new TextEncoder().encode('data:'), randomBytes(32));
  const plaintext = new TextEncoder().encode('Alice: see you at 8 at the usual place 🙂');
  const frame = await key.seal(plaintext, aad);
  const blob = (name: string, description: string, f: Uint8Array, expect: string, a = aad, k = keyBytes, p?: Uint8Array): void => {
    const fields: Fields = [['kind', 'blob-open'], ['description', description], ['key', toHex(k)], ['aad', toHex(a)], ['frame', toHex(f)], ['expect', expect]];
    if (p) fields.push(['plaintext', toHex(p)]);
    add(files, name, fields);
  };
  blob('blob-open', 'a sealed blob opens to its plaintext', frame, 'success', aad, keyBytes, plaintext);
  const empty = await key.seal(new Uint8Array(0), aad);
  blob('blob-empty-plaintext', 'an empty plaintext seals to a 29-byte frame', empty, 'success', aad, keyBytes, new Uint8Array(0));
  blob('blob-flipped-tag', 'one bit of the tag flipped', flipBit(frame, (frame.length - 1) * 8 + 2), 'E_AUTH_FAILED');
  blob('blob-flipped-ciphertext', 'one bit of the ciphertext flipped', flipBit(frame, 13 * 8 + 4), 'E_AUTH_FAILED');
  blob('blob-flipped-nonce', 'one bit of the nonce flipped', flipBit(frame, 8 + 1), 'E_AUTH_FAILED');
  blob('blob-wrong-aad', 'opened with other associated data (another blob id)', frame, 'E_AUTH_FAILED', concatBytes(new TextEncoder().encode('data:'), randomBytes(32)));
  blob('blob-wrong-key', 'opened with another key', frame, 'E_AUTH_FAILED', aad, randomBytes(32));
  blob('blob-version-2', 'a frame of version 2', concatBytes(Uint8Array.of(2), frame.slice(1)), 'E_UNSUPPORTED_VERSION');
  blob('blob-truncated', 'a frame of 28 bytes, shorter than the overhead', frame.slice(0, 28), 'E_TRUNCATED');
  blob('blob-empty-frame', 'no bytes at all', new Uint8Array(0), 'E_TRUNCATED');
  blob('blob-truncated-tag', 'the last byte of the tag missing', frame.slice(0, -1), 'E_AUTH_FAILED');
}

function metadataVectors(files: Files): void {
  const meta = (name: string, description: string, type: number, bytes: Uint8Array, expect: string, out: Fields = []): void => {
    add(files, name, [['kind', 'slot-metadata'], ['description', description], ['type', String(type)], ['metadata', toHex(bytes)], ['expect', expect], ...out]);
  };
  const passkey = passkeyDescription('passkey-hybrid', 'Pixel 9 · Google Password Manager');
  if (passkey.type !== 'passkey-hybrid') throw new Error('unreachable');
  const p = passkey.metadata;
  const passkeyBytes = encodeSlotMetadata(passkey);
  meta('slot-metadata-passkey', 'passkey metadata with a non-ASCII label', KEYSLOT_TYPE_CODES['passkey-hybrid'], passkeyBytes, 'success', [
    ['label', p.label], ['created-at', String(p.createdAt)], ['last-used-at', String(p.lastUsedAt)], ['credential-id', toHex(p.credentialId)],
    ['rp-id', p.rpId], ['prf-salt', toHex(p.prfSalt)], ['aaguid', toHex(p.aaguid)], ['provider', p.provider],
  ]);
  if (passwordDescription.type !== 'password') throw new Error('unreachable');
  const pw = passwordDescription.metadata;
  meta('slot-metadata-password', 'password metadata', KEYSLOT_TYPE_CODES.password, encodeSlotMetadata(passwordDescription), 'success', [
    ['label', pw.label], ['created-at', String(pw.createdAt)], ['last-used-at', String(pw.lastUsedAt)], ['vault-account', pw.vaultAccount],
  ]);
  const recBytes = encodeSlotMetadata(recoveryDescription);
  meta('slot-metadata-recovery-key', 'recovery-key metadata', KEYSLOT_TYPE_CODES['recovery-key'], recBytes, 'success', [
    ['label', recoveryDescription.metadata.label], ['created-at', String(CREATED_AT)], ['last-used-at', '0'],
  ]);
  meta('slot-metadata-trailing', 'one byte after the last field', KEYSLOT_TYPE_CODES['recovery-key'], concatBytes(recBytes, Uint8Array.of(0)), 'E_FORMAT');
  meta('slot-metadata-truncated', 'last_used_at cut short', KEYSLOT_TYPE_CODES['recovery-key'], recBytes.slice(0, -1), 'E_TRUNCATED');
  const badUtf8 = recBytes.slice();
  badUtf8[1] = 0xff;
  meta('slot-metadata-bad-utf8', 'a label that is not UTF-8', KEYSLOT_TYPE_CODES['recovery-key'], badUtf8, 'E_FORMAT');
  const longLabel = recBytes.slice();
  longLabel[0] = 65;
  meta('slot-metadata-label-too-long', 'label_len 65, above the 64 limit', KEYSLOT_TYPE_CODES['recovery-key'], longLabel, 'E_TOO_LARGE');
  const rpIdAt = 1 + utf8Length(p.label) + 16 + 2 + p.credentialId.length;
  const emptyRpId = concatBytes(passkeyBytes.slice(0, rpIdAt), Uint8Array.of(0), passkeyBytes.slice(rpIdAt + 1 + utf8Length(p.rpId)));
  meta('slot-metadata-empty-rp-id', 'an empty rp_id', KEYSLOT_TYPE_CODES['passkey-hybrid'], emptyRpId, 'E_FORMAT');
  meta('slot-metadata-unknown-type', 'metadata of type 9', 9, recBytes, 'E_UNSUPPORTED_VERSION');
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** All vector files, name → content, in a fixed order. Restores the random source afterwards. */
async function recoverySignInVectors(files: Files): Promise<void> {
  const recoveryKey = generateRecoveryKey();
  const pair = await deriveRecoverySigningKey(recoveryKey);
  const signed: RecoverySignInContext = { origin: 'https://chat.example.org', purpose: 'sign-in', challenge: randomBytes(32) };
  const signature = await signRecoveryChallenge(pair, signed);
  const contextFields = (c: RecoverySignInContext): Fields => [['origin', c.origin], ['purpose', c.purpose], ['challenge', toHex(c.challenge)]];
  const ok = async (name: string, description: string, context: RecoverySignInContext): Promise<void> => {
    add(files, name, [
      ['kind', 'recovery-sign-in'],
      ['description', description],
      ['recovery-key', recoveryKey.text],
      ...contextFields(context),
      ['expect', 'success'],
      ['seed', toHex(await recoverySignInSeed(recoveryKey))],
      ['public-key', toHex(pair.publicKey)],
      ['message', toHex(recoverySignInMessage(context))],
      ['signature', toHex(await signRecoveryChallenge(pair, context))],
    ]);
  };
  // Negative cases give only what a server sees: a public key, the context it expects and a signature.
  const bad = (name: string, description: string, publicKey: Uint8Array, context: RecoverySignInContext, sig: Uint8Array, expect: string): void => {
    add(files, name, [['kind', 'recovery-sign-in'], ['description', description], ['public-key', toHex(publicKey)], ...contextFields(context), ['signature', toHex(sig)], ['expect', expect]]);
  };
  await ok('recovery-sign-in-valid', 'a sign-in signature over a server challenge', signed);
  await ok('recovery-sign-in-step-up-port', 'a step-up signature for an origin with a port', { origin: 'http://localhost:8787', purpose: 'step-up', challenge: randomBytes(32) });
  bad('recovery-sign-in-wrong-origin', 'the signature checked against a look-alike origin', pair.publicKey, { ...signed, origin: 'https://chat.example.org.evil.example' }, signature, 'E_AUTH_FAILED');
  bad('recovery-sign-in-wrong-purpose', 'a sign-in signature presented to register the key', pair.publicKey, { ...signed, purpose: 'register' }, signature, 'E_AUTH_FAILED');
  bad('recovery-sign-in-other-challenge', 'the signature replayed against a new challenge', pair.publicKey, { ...signed, challenge: randomBytes(32) }, signature, 'E_AUTH_FAILED');
  const other = await deriveRecoverySigningKey(generateRecoveryKey());
  bad('recovery-sign-in-other-key', "checked against another recovery key's public key", other.publicKey, signed, signature, 'E_AUTH_FAILED');
  bad('recovery-sign-in-flipped-signature', 'one bit of the signature flipped', pair.publicKey, signed, flipBit(signature, 100), 'E_AUTH_FAILED');
  bad('recovery-sign-in-short-signature', 'a signature of 63 bytes', pair.publicKey, signed, signature.slice(0, 63), 'E_INVALID_ARGUMENT');
  bad('recovery-sign-in-short-challenge', 'a challenge of 31 bytes', pair.publicKey, { ...signed, challenge: signed.challenge.slice(0, 31) }, signature, 'E_INVALID_ARGUMENT');
  // The identity point as public key and as R, with S = 0: [S]B = R + [k]A holds for every message.
  const identity = Uint8Array.of(1, ...new Uint8Array(31));
  bad('recovery-sign-in-small-order-key', 'the identity point as key and as R, S = 0: a naive verifier accepts it', identity, signed, concatBytes(identity, new Uint8Array(32)), 'E_AUTH_FAILED');
}

export async function generateVectors(): Promise<Files> {
  const files: Files = new Map();
  const original = Object.getOwnPropertyDescriptor(_randomInternals, 'fill');
  _randomInternals.fill = seededFill(0xc0ffee);
  try {
    await subkeyVectors(files);
    recoveryKeyVectors(files);
    await keyslotVectors(files);
    await configVectors(files);
    await duplicateSlotVector(files);
    await blobVectors(files);
    metadataVectors(files);
    await recoverySignInVectors(files);
  } finally {
    if (original) Object.defineProperty(_randomInternals, 'fill', original);
  }
  return files;
}
