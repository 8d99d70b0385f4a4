/**
 * fast-check arbitraries for every core structure, plus the small helpers the
 * property and tamper tests share: a byte-aware structural diff, hostile
 * mutations of valid encodings, and the offsets of each encoding's numeric
 * fields (lengths, counts, times) so mutations can aim at them.
 *
 * Every arbitrary stays inside the documented limits (format.md §4–§7), so any
 * value it yields must encode; the limits themselves (0 and 4096 bytes of
 * metadata, 64-byte labels…) are drawn on purpose, because off-by-one bugs live
 * there and fast-check's default "small" size would almost never reach them.
 */
import fc from 'fast-check';
import {
  AAGUID_BYTES,
  BLOB_FRAME_VERSION,
  type BlobFrame,
  COMMITMENT_BYTES,
  CONFIG_VERSION,
  type CommonSlotMetadata,
  type ConfigHeader,
  GCM_NONCE_BYTES,
  GCM_TAG_BYTES,
  KDF_SALT_BYTES,
  KEYSLOT_TYPE_CODES,
  KEYSLOT_VERSION,
  type Keyslot,
  MAX_CONFIG_PARAMS_BYTES,
  MAX_CREDENTIAL_ID_BYTES,
  MAX_LABEL_BYTES,
  MAX_PROVIDER_BYTES,
  MAX_RP_ID_BYTES,
  MAX_SLOT_METADATA_BYTES,
  MAX_VAULT_ACCOUNT_BYTES,
  PRF_SALT_BYTES,
  type PasskeySlotMetadata,
  type PasswordSlotMetadata,
  RECOVERY_KEY_ALPHABET,
  RECOVERY_KEY_SECRET_SYMBOLS,
  REPOSITORY_ID_BYTES,
  SLOT_ID_BYTES,
  type SlotDescription,
  WRAPPED_ROOT_KEY_BYTES,
  encodeConfigHeader,
  encodeKeyslot,
  encodeSlotMetadata,
  formatRecoveryKey,
  toHex,
} from '../src/index.ts';

// ---------------------------------------------------------------------------
// Bytes

/**
 * Deterministic filler for long byte strings. fast-check builds arrays one
 * element at a time (about 0.1 µs per byte), which at 4 KiB × 10,000 runs would
 * dominate the suite; a seed drawn by fast-check keeps runs reproducible.
 */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 0 || 0x9e3779b9; // xorshift32 must not start at 0
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Opaque fixed-size fields (ids, salts, nonces, tags): mostly seeded noise, sometimes
 * all 0x00 or all 0xFF, the values a careless "is it set?" check trips on.
 */
export function fixedBytes(length: number): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer().map((seed) => pseudoRandomBytes(length, seed)) },
    { weight: 1, arbitrary: fc.constantFrom(0x00, 0xff).map((v) => new Uint8Array(length).fill(v)) },
  );
}

/**
 * Bytes whose length is anywhere in [min, max]: short ones built by fast-check
 * (they shrink well), any length filled from a seed, and exactly the two bounds.
 */
export function bytesArb(min: number, max: number): fc.Arbitrary<Uint8Array> {
  const seeded = (length: fc.Arbitrary<number>): fc.Arbitrary<Uint8Array> =>
    fc.tuple(length, fc.integer()).map(([n, seed]) => pseudoRandomBytes(n, seed));
  return fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ minLength: min, maxLength: Math.min(max, min + 16) }) },
    { weight: 1, arbitrary: seeded(fc.integer({ min, max })) },
    { weight: 1, arbitrary: seeded(fc.constantFrom(min, max)) },
  );
}

// ---------------------------------------------------------------------------
// Text measured in UTF-8 bytes

/** UTF-8 length of well-formed text, computed per code point (TextEncoder per character is far slower). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) bytes += codePointBytes(char);
  return bytes;
}

function codePointBytes(char: string): number {
  const cp = char.codePointAt(0) ?? 0;
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** Keeps whole code points while they fit in `maxBytes`, so the result stays well-formed. */
function clipUtf8(text: string, maxBytes: number): string {
  let out = '';
  let used = 0;
  for (const codePoint of text) {
    const size = codePointBytes(codePoint);
    if (used + size > maxBytes) break;
    out += codePoint;
    used += size;
  }
  return out;
}

/** Pads with ASCII up to `targetBytes` (one byte per character, so the target is hit exactly). */
function padUtf8(text: string, targetBytes: number): string {
  const missing = targetBytes - utf8Length(text);
  return missing > 0 ? text + 'x'.repeat(missing) : text;
}

/**
 * Strings that decoders get wrong: a leading BOM (a non-fatal or BOM-stripping
 * decoder drops it), NUL, NFD vs NFC forms (nothing may normalise), a
 * right-to-left override, 4-byte code points, a ZWJ emoji sequence, and the
 * highest code point.
 */
const TRICKY_TEXT = ['', '\uFEFF', '\uFEFFlabel', '\0', 'e\u0301', '\u00e9', '\u202Egnp.exe', '😀', '👩\u200D👩\u200D👧', '\u{10FFFF}', 'a\u0000b', 'ß', 'İ'];

/**
 * One Unicode scalar value, each UTF-8 width (1–4 bytes) equally likely, never a
 * surrogate half. Built from integers rather than fast-check's 'binary' unit,
 * whose shrinker first builds a map of all 1.1 million code points.
 */
export const codePointArb: fc.Arbitrary<string> = fc
  .oneof(
    fc.integer({ min: 0, max: 0x7f }),
    fc.integer({ min: 0x80, max: 0x7ff }),
    fc.integer({ min: 0x800, max: 0xffff - 0x800 }).map((cp) => (cp >= 0xd800 ? cp + 0x800 : cp)),
    fc.integer({ min: 0x10000, max: 0x10ffff }),
  )
  .map((cp) => String.fromCodePoint(cp));

/** Well-formed Unicode whose UTF-8 encoding is `minBytes..maxBytes` long (not its `.length`). */
export function utf8TextArb(minBytes: number, maxBytes: number): fc.Arbitrary<string> {
  const fill = ['a', 'é', '€', '😀', '\u{10FFFF}', '\uFEFF', '\0', 'ı'];
  const atLimit = fc.integer().map((seed) => {
    const picks = pseudoRandomBytes(maxBytes, seed);
    let text = '';
    for (const pick of picks) text += fill[pick % fill.length] ?? 'a';
    return padUtf8(clipUtf8(text, maxBytes), maxBytes);
  });
  return fc
    .oneof(
      fc.string({ unit: codePointArb, maxLength: maxBytes }).map((s) => padUtf8(clipUtf8(s, maxBytes), minBytes)),
      fc.constantFrom(...TRICKY_TEXT).map((s) => padUtf8(clipUtf8(s, maxBytes), minBytes)),
      atLimit, // exactly at the limit, built from characters of every UTF-8 width
    )
    .filter((s) => s.isWellFormed()); // clipping works on code points, so this never drops a value; it documents the invariant
}

// ---------------------------------------------------------------------------
// Slot metadata

/** Milliseconds since the epoch as core stores them: any safe non-negative integer. */
export const timeArb: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, 2 ** 32, 1_700_000_000_000, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat(),
);

const commonFields = {
  label: utf8TextArb(0, MAX_LABEL_BYTES),
  createdAt: timeArb,
  lastUsedAt: timeArb,
};

export const commonSlotMetadataArb: fc.Arbitrary<CommonSlotMetadata> = fc.record(commonFields);

export const passkeySlotMetadataArb: fc.Arbitrary<PasskeySlotMetadata> = fc.record({
  ...commonFields,
  credentialId: bytesArb(1, MAX_CREDENTIAL_ID_BYTES),
  // Real relying-party ids, then anything the format allows (core does not validate domains).
  rpId: fc.oneof(fc.constantFrom('coffer.example.org', 'localhost', 'xn--bcher-kva.example', 'a'.repeat(MAX_RP_ID_BYTES)), utf8TextArb(1, MAX_RP_ID_BYTES)),
  prfSalt: fixedBytes(PRF_SALT_BYTES),
  aaguid: fixedBytes(AAGUID_BYTES),
  provider: utf8TextArb(0, MAX_PROVIDER_BYTES),
});

export const passwordSlotMetadataArb: fc.Arbitrary<PasswordSlotMetadata> = fc.record({
  ...commonFields,
  vaultAccount: utf8TextArb(1, MAX_VAULT_ACCOUNT_BYTES),
});

export const slotDescriptionArbs = {
  'passkey-portable': passkeySlotMetadataArb.map((metadata): SlotDescription => ({ type: 'passkey-portable', metadata })),
  'passkey-hybrid': passkeySlotMetadataArb.map((metadata): SlotDescription => ({ type: 'passkey-hybrid', metadata })),
  password: passwordSlotMetadataArb.map((metadata): SlotDescription => ({ type: 'password', metadata })),
  'recovery-key': commonSlotMetadataArb.map((metadata): SlotDescription => ({ type: 'recovery-key', metadata })),
} as const;

export const slotDescriptionArb: fc.Arbitrary<SlotDescription> = fc.oneof(...Object.values(slotDescriptionArbs));

// ---------------------------------------------------------------------------
// Keyslots, config headers, blob frames

/** Any keyslot the format allows: type 1..255 (known or not), opaque metadata of 0..4096 bytes. */
export const genericKeyslotArb: fc.Arbitrary<Keyslot> = fc.record({
  version: fc.constant(KEYSLOT_VERSION),
  type: fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 255), fc.integer({ min: 1, max: 255 })),
  slotId: fixedBytes(SLOT_ID_BYTES),
  metadata: bytesArb(0, MAX_SLOT_METADATA_BYTES),
  kdfSalt: fixedBytes(KDF_SALT_BYTES),
  nonce: fixedBytes(GCM_NONCE_BYTES),
  wrappedRootKey: fixedBytes(WRAPPED_ROOT_KEY_BYTES),
  commitment: fixedBytes(COMMITMENT_BYTES),
});

/** A keyslot of a known type whose metadata is a valid encoding for that type, as createKeyslot makes. */
export const typedKeyslotArb: fc.Arbitrary<Keyslot> = fc
  .tuple(slotDescriptionArb, genericKeyslotArb)
  .map(([description, slot]) => ({ ...slot, type: KEYSLOT_TYPE_CODES[description.type], metadata: encodeSlotMetadata(description) }));

export const keyslotArb: fc.Arbitrary<Keyslot> = fc.oneof(genericKeyslotArb, typedKeyslotArb);

export const configHeaderArb: fc.Arbitrary<ConfigHeader> = fc.record({
  version: fc.constant(CONFIG_VERSION),
  flags: fc.constant(0),
  repositoryId: fixedBytes(REPOSITORY_ID_BYTES),
  createdAt: timeArb,
  generation: fc.oneof(fc.constantFrom(1, 2, Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
  params: bytesArb(0, MAX_CONFIG_PARAMS_BYTES),
  keyslots: fc.uniqueArray(keyslotArb, { minLength: 1, maxLength: 8, selector: (slot) => toHex(slot.slotId) }),
});

export const configMacArb: fc.Arbitrary<Uint8Array> = fixedBytes(32);

/** Frames up to 4 KiB of ciphertext: the parser is length-agnostic past the tag, and bigger frames only cost time. */
export const blobFrameArb: fc.Arbitrary<BlobFrame> = fc.record({
  version: fc.constant(BLOB_FRAME_VERSION),
  nonce: fixedBytes(GCM_NONCE_BYTES),
  sealed: bytesArb(GCM_TAG_BYTES, GCM_TAG_BYTES + 4096),
});

// ---------------------------------------------------------------------------
// Recovery keys

export const recoverySecretArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ min: 0, max: RECOVERY_KEY_ALPHABET.length - 1, minLength: RECOVERY_KEY_SECRET_SYMBOLS, maxLength: RECOVERY_KEY_SECRET_SYMBOLS }),
  fc.constantFrom(0, RECOVERY_KEY_ALPHABET.length - 1).map((v) => new Uint8Array(RECOVERY_KEY_SECRET_SYMBOLS).fill(v)),
);

/** What the parser documents as ignorable between characters: whitespace, dashes of every kind, '_' and '.'. */
export const RECOVERY_KEY_SEPARATORS = [' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '-', '--', '\u2010', '\u2013', '\u2014', '\u2212', '_', '.'];

/**
 * A recovery key as a person may type it: random letters lowercased, the
 * display dashes kept or dropped, and separators inserted anywhere.
 */
export const typedRecoveryKeyArb: fc.Arbitrary<{ secret: Uint8Array; text: string }> = fc
  .tuple(
    recoverySecretArb,
    fc.array(fc.boolean(), { minLength: 80, maxLength: 80 }),
    fc.boolean(),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom(...RECOVERY_KEY_SEPARATORS)), { maxLength: 24 }),
  )
  .map(([secret, lower, keepDashes, inserts]) => {
    let chars = Array.from(formatRecoveryKey(secret)).map((c, i) => (lower[i] === true ? c.toLowerCase() : c));
    if (!keepDashes) chars = chars.filter((c) => c !== '-');
    for (const [at, separator] of inserts) chars.splice(at % (chars.length + 1), 0, separator);
    return { secret, text: chars.join('') };
  });

// ---------------------------------------------------------------------------
// Numeric fields of each encoding (targets for "huge length" mutations)

/** Every keyslot byte except its metadata: 1 + 1 + 16 + 2 + 32 + 12 + 48 + 32. */
const KEYSLOT_FIXED_BYTES = 2 + SLOT_ID_BYTES + 2 + KDF_SALT_BYTES + GCM_NONCE_BYTES + WRAPPED_ROOT_KEY_BYTES + COMMITMENT_BYTES;

export interface NumericField {
  readonly offset: number;
  readonly width: 1 | 2 | 4 | 8;
}

/** keyslot = version:1 ‖ type:1 ‖ slot_id:16 ‖ metadata_len:u16 ‖ … (format.md §4.1) */
export function keyslotFields(base = 0): NumericField[] {
  return [{ offset: base + 2 + SLOT_ID_BYTES, width: 2 }];
}

/** label_len:u8 ‖ label ‖ created_at:u64 ‖ last_used_at:u64 ‖ type-specific (format.md §4.2) */
export function slotMetadataFields(description: SlotDescription): NumericField[] {
  const m = description.metadata;
  const labelEnd = 1 + utf8Length(m.label);
  const fields: NumericField[] = [
    { offset: 0, width: 1 },
    { offset: labelEnd, width: 8 },
    { offset: labelEnd + 8, width: 8 },
  ];
  const common = labelEnd + 16;
  if (description.type === 'passkey-portable' || description.type === 'passkey-hybrid') {
    const p = description.metadata;
    const rpAt = common + 2 + p.credentialId.length;
    fields.push({ offset: common, width: 2 }, { offset: rpAt, width: 1 }, { offset: rpAt + 1 + utf8Length(p.rpId) + PRF_SALT_BYTES + AAGUID_BYTES, width: 1 });
  } else if (description.type === 'password') {
    fields.push({ offset: common, width: 1 });
  }
  return fields;
}

/** magic:8 ‖ version ‖ flags ‖ repository_id:16 ‖ created_at:u64 ‖ generation:u64 ‖ params_len:u16 ‖ … (format.md §5) */
export function configFields(config: ConfigHeader): NumericField[] {
  const fields: NumericField[] = [
    { offset: 26, width: 8 },
    { offset: 34, width: 8 },
    { offset: 42, width: 2 },
    { offset: 44 + config.params.length, width: 2 },
  ];
  let at = 46 + config.params.length;
  for (const slot of config.keyslots) {
    fields.push({ offset: at, width: 2 }, ...keyslotFields(at + 2));
    at += 2 + KEYSLOT_FIXED_BYTES + slot.metadata.length;
  }
  return fields;
}

// ---------------------------------------------------------------------------
// Hostile mutations

export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly count: number }
  | { readonly kind: 'field'; readonly field: number; readonly value: number }
  | { readonly kind: 'overwrite'; readonly at: number; readonly width: 1 | 2 | 4 | 8; readonly value: number };

/** Values that break length checks: 0, byte and word edges, and huge ones (0xFFFF, 0xFFFFFFFF, just past 2^53 when doubled into a u64). */
const HOSTILE_VALUES = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x1000, 0x1001, 0x1090, 0x1091, 0x7fff, 0xffff, 0x1fffff, 0x200000, 0x7fffffff, 0xffffffff];

const hostileValueArb = fc.oneof(fc.constantFrom(...HOSTILE_VALUES), fc.nat({ max: 0xffffffff }));

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('field' as const), field: fc.nat(), value: hostileValueArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const), value: hostileValueArb }) },
);

/** Big-endian; an 8-byte field gets `value` in both halves, so 0xFFFFFFFF makes 2^64-1 and 0x200000 lands just past 2^53. */
function writeValue(bytes: Uint8Array, at: number, width: 1 | 2 | 4 | 8, value: number): void {
  const halves = width === 8 ? [value, value] : [value];
  const size = width === 8 ? 4 : width;
  let offset = at;
  for (const half of halves) {
    for (let i = size - 1; i >= 0; i--) {
      if (offset + i < bytes.length) bytes[offset + i] = Math.floor(half / 2 ** (8 * (size - 1 - i))) & 0xff;
    }
    offset += size;
  }
}

export function applyMutation(input: Uint8Array, fields: readonly NumericField[], mutation: Mutation): Uint8Array {
  const bytes = input.slice();
  switch (mutation.kind) {
    case 'flip':
      if (bytes.length > 0) bytes[mutation.at % bytes.length] = (bytes[mutation.at % bytes.length] ?? 0) ^ (1 << mutation.bit);
      return bytes;
    case 'truncate':
      return bytes.slice(0, mutation.at % (bytes.length + 1));
    case 'insert': {
      const at = mutation.at % (bytes.length + 1);
      const out = new Uint8Array(bytes.length + mutation.bytes.length);
      out.set(bytes.subarray(0, at));
      out.set(mutation.bytes, at);
      out.set(bytes.subarray(at), at + mutation.bytes.length);
      return out;
    }
    case 'delete': {
      const at = mutation.at % (bytes.length + 1);
      const out = new Uint8Array(bytes.length - Math.min(mutation.count, bytes.length - at));
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at + mutation.count), at);
      return out;
    }
    case 'field': {
      const field = fields[mutation.field % Math.max(1, fields.length)];
      if (field !== undefined) writeValue(bytes, field.offset, field.width, mutation.value);
      return bytes;
    }
    case 'overwrite':
      if (bytes.length > 0) writeValue(bytes, mutation.at % bytes.length, mutation.width, mutation.value);
      return bytes;
  }
}

/** A valid encoding with the offsets of its numeric fields. */
export interface Encoded {
  readonly bytes: Uint8Array;
  readonly fields: readonly NumericField[];
}

/**
 * Hostile input for a parser: uniformly random bytes, random bytes behind a
 * valid prefix (so the parser gets past its magic), and — most often — a valid
 * encoding with one to three mutations, which reach the deep length checks.
 */
export function hostileBytesArb(valid: fc.Arbitrary<Encoded>, prefix: Uint8Array = new Uint8Array(0)): fc.Arbitrary<Uint8Array> {
  const mutated = fc
    .tuple(valid, fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
    .map(([encoded, mutations]) => mutations.reduce((bytes, m) => applyMutation(bytes, encoded.fields, m), encoded.bytes));
  return fc.oneof(
    { weight: 1, arbitrary: bytesArb(0, 512) },
    { weight: 1, arbitrary: bytesArb(0, 512).map((tail) => concat(prefix, tail)) },
    { weight: 6, arbitrary: mutated },
  );
}

export const encodedKeyslotArb: fc.Arbitrary<Encoded> = keyslotArb.map((slot) => ({ bytes: encodeKeyslot(slot), fields: keyslotFields() }));

export const encodedConfigArb: fc.Arbitrary<Encoded> = fc
  .tuple(configHeaderArb, configMacArb)
  .map(([config, mac]) => ({ bytes: encodeConfigHeader(config, mac), fields: configFields(config) }));

export function encodedSlotMetadataArb(description: fc.Arbitrary<SlotDescription> = slotDescriptionArb): fc.Arbitrary<Encoded> {
  return description.map((d) => ({ bytes: encodeSlotMetadata(d), fields: slotMetadataFields(d) }));
}

/** Mutations of a valid key's text: substitutions, insertions, deletions, swaps, with ASCII, look-alikes, unicode and lone surrogates. */
export const hostileRecoveryTextArb: fc.Arbitrary<string> = (() => {
  const oddChar = fc.oneof(
    fc.constantFrom(...Array.from(RECOVERY_KEY_ALPHABET), 'a', 'z', '0', 'O', 'o', '1', 'I', 'i', 'L', 'l', '!', 'é', 'ß', 'ſ', 'ı', 'ﬀ', '😀', '\ud800', '\udc00', '\0', '-', ' ', '\u2013'),
    codePointArb,
    fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), // includes lone surrogates
  );
  const edit = fc.tuple(fc.constantFrom('substitute', 'insert', 'delete', 'swap'), fc.nat(), oddChar);
  const mutatedKey = fc.tuple(recoverySecretArb, fc.array(edit, { minLength: 1, maxLength: 3 })).map(([secret, edits]) => {
    const chars = Array.from(formatRecoveryKey(secret));
    for (const [kind, rawAt, char] of edits) {
      const at = rawAt % (chars.length + 1);
      if (kind === 'insert') chars.splice(at, 0, char);
      else if (chars.length === 0) continue;
      else if (kind === 'substitute') chars[at % chars.length] = char;
      else if (kind === 'delete') chars.splice(at % chars.length, 1);
      else {
        const i = at % chars.length;
        const j = (i + 1) % chars.length;
        [chars[i], chars[j]] = [chars[j] ?? '', chars[i] ?? ''];
      }
    }
    return chars.join('');
  });
  return fc.oneof(
    fc.string({ unit: codePointArb, maxLength: 100 }),
    fc.string({ unit: oddChar, minLength: 56, maxLength: 90 }),
    fc.tuple(fc.string({ unit: oddChar, minLength: 1, maxLength: 4 }), fc.integer({ min: 256, max: 1200 })).map(([s, n]) => s.repeat(n)),
    { arbitrary: mutatedKey, weight: 4 },
  );
})();

// ---------------------------------------------------------------------------
// Comparison helpers

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * The path of the first difference between two parsed structures, or undefined.
 * Hand-rolled because expect().toEqual walks a Uint8Array key by key, which is
 * far too slow for 10,000 configs of up to 8 × 4 KiB; it also insists that byte
 * fields are Uint8Array on both sides, not merely equal element-wise.
 */
export function firstDifference(actual: unknown, expected: unknown, path = '$'): string | undefined {
  if (expected instanceof Uint8Array || actual instanceof Uint8Array) {
    if (!(expected instanceof Uint8Array) || !(actual instanceof Uint8Array)) return `${path}: one side is not a Uint8Array`;
    if (actual.length !== expected.length) return `${path}: length ${String(actual.length)} ≠ ${String(expected.length)}`;
    for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) return `${path}[${String(i)}]`;
    return undefined;
  }
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual)) return `${path}: one side is not an array`;
    if (actual.length !== expected.length) return `${path}: length ${String(actual.length)} ≠ ${String(expected.length)}`;
    for (let i = 0; i < actual.length; i++) {
      const d = firstDifference(actual[i], expected[i], `${path}[${String(i)}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (typeof expected === 'object' && expected !== null && typeof actual === 'object' && actual !== null) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const key of keys) {
      const d = firstDifference((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}.${key}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return Object.is(actual, expected) ? undefined : `${path}: ${String(actual)} ≠ ${String(expected)}`;
}
