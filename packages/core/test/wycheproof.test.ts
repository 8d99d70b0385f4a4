/**
 * Project Wycheproof vectors (see test/data/wycheproof/README.md) run through
 * Coffer's own wrappers in src/primitives.ts, in Node and in Chromium.
 *
 * Every vector is accounted for: it either runs and behaves as Wycheproof says
 * ("matched"), or it uses parameters the wrapper deliberately does not support
 * and is "refused by parameter check" with E_INVALID_ARGUMENT. For raw
 * WebCrypto AES-GCM the second category is the runtime's own list of
 * unsupported parameters (see GCM_RUNTIME_GAPS). The counts of both are
 * asserted exactly, so a vector can never be skipped silently.
 */
import { describe, expect, test } from 'vitest';
import { fromHex, own, toHex } from '../src/bytes.ts';
import { isCofferError } from '../src/errors.ts';
import {
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
} from '../src/primitives.ts';

// ---------------------------------------------------------------------------
// The JSON shape we read (only the fields this test uses; hex strings throughout).

type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

interface WycheproofCase {
  tcId: number;
  comment: string;
  flags: string[];
  result: WycheproofResult;
}

interface WycheproofGroup {
  tests: WycheproofCase[];
}

interface WycheproofFile<G extends WycheproofGroup> {
  algorithm: string;
  numberOfTests: number;
  testGroups: G[];
}

interface AeadCase extends WycheproofCase {
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
}

interface AeadGroup extends WycheproofGroup {
  keySize: number;
  ivSize: number;
  tagSize: number;
  tests: AeadCase[];
}

interface HkdfCase extends WycheproofCase {
  ikm: string;
  salt: string;
  info: string;
  size: number;
  okm: string;
}

interface HkdfGroup extends WycheproofGroup {
  keySize: number;
  tests: HkdfCase[];
}

interface MacCase extends WycheproofCase {
  key: string;
  msg: string;
  tag: string;
}

interface MacGroup extends WycheproofGroup {
  keySize: number;
  tagSize: number;
  tests: MacCase[];
}

/**
 * Vite rewrites an eager `import.meta.glob` into static ES imports of the
 * matched files, in the node and the browser project alike (no fs, no fetch).
 * A plain `import x from './data/wycheproof/x.json'` would be simpler, but
 * tsconfig.json's `include` lists no .json files, and this composite project
 * then rejects the import with TS6307 ("not listed within the file list").
 */
const vectorFiles = import.meta.glob('./data/wycheproof/*.json', { eager: true, import: 'default' });

function vectorFile<G extends WycheproofGroup>(name: string): WycheproofFile<G> {
  const file = vectorFiles[`./data/wycheproof/${name}`];
  if (file === undefined) throw new Error(`vector file ${name} is missing from test/data/wycheproof`);
  return file as WycheproofFile<G>;
}

const aesGcmFile = vectorFile<AeadGroup>('aes_gcm_test.json');
const hkdfSha256File = vectorFile<HkdfGroup>('hkdf_sha256_test.json');
const hmacSha256File = vectorFile<MacGroup>('hmac_sha256_test.json');

// ---------------------------------------------------------------------------
// Helpers.

/** One test case together with the group parameters (key, IV, tag sizes) it was generated under. */
interface Vector<G extends WycheproofGroup> {
  group: G;
  test: G['tests'][number];
}

function vectorsOf<G extends WycheproofGroup>(file: WycheproofFile<G>): Vector<G>[] {
  return file.testGroups.flatMap((group) => group.tests.map((test) => ({ group, test })));
}

/**
 * None of these three files has an "acceptable" case. If a future copy adds
 * one, we want a loud failure and a conscious decision, not a guess.
 */
function isValid(test: WycheproofCase): boolean {
  if (test.result === 'acceptable') throw new Error('"acceptable" result: decide how Coffer should treat it before counting it');
  return test.result === 'valid';
}

/** Hex to bytes in a fresh ArrayBuffer, which is what WebCrypto's typings ask for. */
function hex(text: string): Uint8Array<ArrayBuffer> {
  return own(fromHex(text));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return toHex(a) === toHex(b);
}

/**
 * Runs an operation that is expected to throw and names how it ended: the
 * CofferError code, "returned" if it did not throw, or the foreign error.
 * Comparing one string keeps "threw the right code" checks to one line each.
 */
async function howItEnded(operation: () => Promise<unknown>): Promise<string> {
  try {
    await operation();
    return 'returned';
  } catch (error) {
    if (isCofferError(error)) return error.code;
    return `non-CofferError ${String(error)}`;
  }
}

/** WebCrypto reports a failed tag check and a declined parameter alike, as an OperationError. */
function isOperationError(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'OperationError';
}

type Outcome = { kind: 'matched' } | { kind: 'refused' } | { kind: 'mismatch'; why: string };

const MATCHED: Outcome = { kind: 'matched' };
const REFUSED: Outcome = { kind: 'refused' };

function mismatch(why: string): Outcome {
  return { kind: 'mismatch', why };
}

interface Tally {
  matched: number;
  refused: number;
  mismatches: string[];
}

/**
 * Checks every vector, one at a time, and counts the outcomes. An unexpected
 * exception is a mismatch for that vector rather than an abort, so one failure
 * report lists every vector that went wrong.
 */
async function tally<G extends WycheproofGroup>(vectors: readonly Vector<G>[], check: (vector: Vector<G>) => Promise<Outcome>): Promise<Tally> {
  const result: Tally = { matched: 0, refused: 0, mismatches: [] };
  for (const vector of vectors) {
    let outcome: Outcome;
    try {
      outcome = await check(vector);
    } catch (error) {
      outcome = mismatch(`threw ${String(error)}`);
    }
    if (outcome.kind === 'matched') result.matched++;
    else if (outcome.kind === 'refused') result.refused++;
    else result.mismatches.push(`tcId ${String(vector.test.tcId)} (${vector.test.comment || 'no comment'}): ${outcome.why}`);
  }
  return result;
}

/**
 * Prints the acceptance summary line, then asserts that exactly the expected
 * number of vectors ran and matched, and exactly the rest were refused.
 */
function report(label: string, counts: Tally, expectedMatched: number, expectedRefused: number, refusedBy = 'refused by parameter check'): void {
  let line = `[wycheproof] ${label}: ${String(counts.matched)}/${String(expectedMatched)} matched`;
  if (expectedRefused > 0 || counts.refused > 0) line += `, ${String(counts.refused)}/${String(expectedRefused)} ${refusedBy}`;
  if (counts.mismatches.length > 0) line += `, ${String(counts.mismatches.length)} MISMATCHED`;
  console.log(line);
  expect(counts.mismatches).toEqual([]);
  expect(counts.matched).toBe(expectedMatched);
  expect(counts.refused).toBe(expectedRefused);
}

// ---------------------------------------------------------------------------
// AES-GCM

interface AeadBytes {
  key: Uint8Array<ArrayBuffer>;
  iv: Uint8Array<ArrayBuffer>;
  aad: Uint8Array<ArrayBuffer>;
  msg: Uint8Array<ArrayBuffer>;
  /** ct ‖ tag: what WebCrypto and aesGcmEncrypt return, and what decrypt takes. */
  sealed: Uint8Array<ArrayBuffer>;
}

/** Decodes a case and checks it really has the sizes its group declares, since expectations are keyed on them. */
function aeadBytes({ group, test }: Vector<AeadGroup>): AeadBytes {
  const key = hex(test.key);
  const iv = hex(test.iv);
  const ct = hex(test.ct);
  const tag = hex(test.tag);
  if (key.length * 8 !== group.keySize || iv.length * 8 !== group.ivSize || tag.length * 8 !== group.tagSize) {
    throw new Error('case sizes disagree with its group header');
  }
  const sealed = new Uint8Array(ct.length + tag.length);
  sealed.set(ct);
  sealed.set(tag, ct.length);
  return { key, iv, aad: hex(test.aad), msg: hex(test.msg), sealed };
}

/** The only parameters the wrapper supports: AES-256, a 96-bit nonce and a 128-bit tag. */
function gcmWrapperAccepts(group: AeadGroup): boolean {
  return group.keySize === AES_256_KEY_BYTES * 8 && group.ivSize === GCM_NONCE_BYTES * 8 && group.tagSize === GCM_TAG_BYTES * 8;
}

/**
 * WebCrypto lets an implementation decline parameters it does not support
 * (with an OperationError), and each runtime we test declines some that
 * Wycheproof uses:
 * - Chromium (BoringSSL) has no 192-bit AES at all: 103 cases;
 * - Node accepts AES-GCM IVs of 12 to 128 bytes only: the 40 valid cases with
 *   a shorter or longer IV.
 * A zero-length IV is not listed: Wycheproof marks those cases invalid, so any
 * runtime's refusal of them is simply the expected failure.
 * If a runtime starts accepting one of these, the counts below fail on purpose.
 */
const RUNTIME: 'node' | 'browser' = typeof window === 'undefined' ? 'node' : 'browser';
const GCM_RUNTIME_GAPS = {
  node: { name: 'Node', declines: 'IVs outside 12..128 bytes', cases: 40 },
  browser: { name: 'Chromium', declines: '192-bit AES keys', cases: 103 },
} as const;

function runtimeDeclinesGcm(group: AeadGroup): boolean {
  if (RUNTIME === 'browser') return group.keySize === 192;
  return group.ivSize > 0 && (group.ivSize < 96 || group.ivSize > 1024);
}

/** Raw WebCrypto, every key and IV size the runtime supports: shows the platform itself agrees with Wycheproof. */
async function gcmPrimitive(vector: Vector<AeadGroup>): Promise<Outcome> {
  if (runtimeDeclinesGcm(vector.group)) return gcmDeclinedByRuntime(vector);
  const v = aeadBytes(vector);
  const key = await crypto.subtle.importKey('raw', v.key, 'AES-GCM', false, ['encrypt', 'decrypt']);
  const params: AesGcmParams = { name: 'AES-GCM', iv: v.iv, additionalData: v.aad, tagLength: vector.group.tagSize };
  if (isValid(vector.test)) {
    const sealed = new Uint8Array(await crypto.subtle.encrypt(params, key, v.msg));
    if (!sameBytes(sealed, v.sealed)) return mismatch(`encrypt gave ${toHex(sealed)}`);
    const opened = new Uint8Array(await crypto.subtle.decrypt(params, key, v.sealed));
    return sameBytes(opened, v.msg) ? MATCHED : mismatch(`decrypt gave ${toHex(opened)}`);
  }
  // Failing is the expected result here, including WebCrypto refusing a
  // zero-length IV outright: what matters is that no plaintext comes back.
  try {
    await crypto.subtle.decrypt(params, key, v.sealed);
  } catch (error) {
    return isOperationError(error) ? MATCHED : mismatch(`expected an OperationError, got ${String(error)}`);
  }
  return mismatch('decrypt returned plaintext for an invalid case');
}

/** A declined case must end in an OperationError (at import or at encrypt) and never produce bytes. */
async function gcmDeclinedByRuntime(vector: Vector<AeadGroup>): Promise<Outcome> {
  const v = aeadBytes(vector);
  try {
    const key = await crypto.subtle.importKey('raw', v.key, 'AES-GCM', false, ['encrypt', 'decrypt']);
    const params: AesGcmParams = { name: 'AES-GCM', iv: v.iv, additionalData: v.aad, tagLength: vector.group.tagSize };
    await crypto.subtle.encrypt(params, key, v.msg);
  } catch (error) {
    return isOperationError(error) ? REFUSED : mismatch(`expected an OperationError from the runtime, got ${String(error)}`);
  }
  return mismatch(`${GCM_RUNTIME_GAPS[RUNTIME].name} now accepts these parameters: update runtimeDeclinesGcm and GCM_RUNTIME_GAPS`);
}

/** The same vectors through importAesGcmKey / aesGcmEncrypt / aesGcmDecrypt. */
async function gcmWrapper(vector: Vector<AeadGroup>): Promise<Outcome> {
  const v = aeadBytes(vector);
  if (!gcmWrapperAccepts(vector.group)) return gcmWrapperRefusal(v);
  const key = await importAesGcmKey(v.key);
  if (isValid(vector.test)) {
    // The wrapper takes a caller-chosen nonce, so encryption is deterministic and must equal ct ‖ tag.
    const sealed = await aesGcmEncrypt(key, v.iv, v.msg, v.aad);
    if (!sameBytes(sealed, v.sealed)) return mismatch(`aesGcmEncrypt gave ${toHex(sealed)}`);
    const opened = await aesGcmDecrypt(key, v.iv, v.sealed, v.aad);
    return sameBytes(opened, v.msg) ? MATCHED : mismatch(`aesGcmDecrypt gave ${toHex(opened)}`);
  }
  const ended = await howItEnded(() => aesGcmDecrypt(key, v.iv, v.sealed, v.aad));
  return ended === 'E_AUTH_FAILED' ? MATCHED : mismatch(`aesGcmDecrypt: expected E_AUTH_FAILED, got ${ended}`);
}

/** A case with unsupported parameters must be refused before any AES runs, whatever its expected result. */
async function gcmWrapperRefusal(v: AeadBytes): Promise<Outcome> {
  if (v.key.length !== AES_256_KEY_BYTES) {
    // A 128- or 192-bit key cannot even be imported through the wrapper; that refusal is the check.
    const imported = await howItEnded(() => importAesGcmKey(v.key));
    return imported === 'E_INVALID_ARGUMENT' ? REFUSED : mismatch(`importAesGcmKey: expected E_INVALID_ARGUMENT, got ${imported}`);
  }
  // A 256-bit key imports; the nonce-length check must stop both directions.
  const key = await importAesGcmKey(v.key);
  const sealed = await howItEnded(() => aesGcmEncrypt(key, v.iv, v.msg, v.aad));
  const opened = await howItEnded(() => aesGcmDecrypt(key, v.iv, v.sealed, v.aad));
  if (sealed !== 'E_INVALID_ARGUMENT' || opened !== 'E_INVALID_ARGUMENT') {
    return mismatch(`${String(v.iv.length)}-byte nonce: encrypt ${sealed}, decrypt ${opened}`);
  }
  return REFUSED;
}

// ---------------------------------------------------------------------------
// HKDF-SHA256

async function hkdfWrapper({ test }: Vector<HkdfGroup>): Promise<Outcome> {
  const derive = (): Promise<Uint8Array> => hkdfSha256(hex(test.ikm), hex(test.salt), hex(test.info), test.size);
  if (isValid(test)) {
    const okm = await derive();
    return sameBytes(okm, hex(test.okm)) ? MATCHED : mismatch(`okm ${toHex(okm)}`);
  }
  // RFC 5869 caps L at 255 * HashLen (the counter is one byte); the wrapper must refuse longer outputs itself.
  const ended = await howItEnded(derive);
  return ended === 'E_INVALID_ARGUMENT' ? REFUSED : mismatch(`expected E_INVALID_ARGUMENT, got ${ended}`);
}

// ---------------------------------------------------------------------------
// HMAC-SHA256

/** hmacSha256 always returns the full tag; Wycheproof's truncated-tag cases compare its prefix. */
async function hmacPrimitive({ group, test }: Vector<MacGroup>): Promise<Outcome> {
  const full = await hmacSha256(hex(test.key), hex(test.msg));
  const truncated = full.subarray(0, group.tagSize / 8);
  const equal = sameBytes(truncated, hex(test.tag));
  if (isValid(test)) return equal ? MATCHED : mismatch(`tag ${toHex(truncated)}`);
  return equal ? mismatch('an invalid tag equals the computed one') : MATCHED;
}

/** Only full 32-byte tags are ever compared; a truncated tag is a parameter error, never a "false". */
function hmacVerifyAccepts(group: MacGroup): boolean {
  return group.tagSize === HMAC_SHA256_BYTES * 8;
}

async function hmacWrapper({ group, test }: Vector<MacGroup>): Promise<Outcome> {
  const verify = (): Promise<boolean> => hmacSha256Verify(hex(test.key), hex(test.msg), hex(test.tag));
  if (!hmacVerifyAccepts(group)) {
    const ended = await howItEnded(verify);
    return ended === 'E_INVALID_ARGUMENT' ? REFUSED : mismatch(`expected E_INVALID_ARGUMENT, got ${ended}`);
  }
  const verified = await verify();
  return verified === isValid(test) ? MATCHED : mismatch(`hmacSha256Verify returned ${String(verified)}`);
}

// ---------------------------------------------------------------------------

describe('Wycheproof', () => {
  describe('AES-GCM (aes_gcm_test.json)', () => {
    const vectors = vectorsOf(aesGcmFile);

    test('the file holds the 316 cases its header declares', () => {
      expect(aesGcmFile.numberOfTests).toBe(316);
      expect(vectors).toHaveLength(aesGcmFile.numberOfTests);
    });

    test('primitive: raw WebCrypto matches every case the runtime supports', async () => {
      const gap = GCM_RUNTIME_GAPS[RUNTIME];
      const declined = vectors.filter((v) => runtimeDeclinesGcm(v.group)).length;
      expect(declined).toBe(gap.cases);
      const counts = await tally(vectors, gcmPrimitive);
      report('aes_gcm primitive', counts, vectors.length - declined, declined, `declined by ${gap.name}'s WebCrypto (${gap.declines})`);
    });

    test('wrapper: AES-256/96-bit-nonce cases match, all others are refused', async () => {
      const supported = vectors.filter((v) => gcmWrapperAccepts(v.group));
      expect(supported.filter((v) => isValid(v.test))).toHaveLength(39);
      expect(supported.filter((v) => !isValid(v.test))).toHaveLength(27);
      expect(supported).toHaveLength(66);
      expect(vectors.length - supported.length).toBe(250);
      report('aes_gcm wrapper', await tally(vectors, gcmWrapper), supported.length, vectors.length - supported.length);
    });

    test('wrapper: encrypt and decrypt also refuse AES keys that did not come from importAesGcmKey', async () => {
      // importAesGcmKey is not the only way to hold a CryptoKey, so the key check
      // inside aesGcmEncrypt/aesGcmDecrypt must stop a wrong one on its own.
      const aes128Gcm = await crypto.subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['encrypt', 'decrypt']);
      const aes256Cbc = await crypto.subtle.importKey('raw', new Uint8Array(32), 'AES-CBC', false, ['encrypt', 'decrypt']);
      const nonce = new Uint8Array(GCM_NONCE_BYTES);
      const empty = new Uint8Array(0);
      for (const key of [aes128Gcm, aes256Cbc]) {
        expect(await howItEnded(() => aesGcmEncrypt(key, nonce, empty, empty))).toBe('E_INVALID_ARGUMENT');
        expect(await howItEnded(() => aesGcmDecrypt(key, nonce, new Uint8Array(GCM_TAG_BYTES), empty))).toBe('E_INVALID_ARGUMENT');
      }
    });
  });

  describe('HKDF-SHA256 (hkdf_sha256_test.json)', () => {
    const vectors = vectorsOf(hkdfSha256File);

    test('the file holds the 86 cases its header declares', () => {
      expect(hkdfSha256File.numberOfTests).toBe(86);
      expect(vectors).toHaveLength(hkdfSha256File.numberOfTests);
    });

    test('wrapper: valid cases give okm exactly, oversize outputs are refused', async () => {
      const invalid = vectors.filter((v) => !isValid(v.test));
      // The only invalid cases are over-long outputs, which a parameter check is the documented answer to.
      expect(invalid.map((v) => v.test.size)).toEqual([8161, 8161, 8161]);
      expect(invalid.every((v) => v.test.size > HKDF_SHA256_MAX_OUTPUT)).toBe(true);
      expect(vectors.length - invalid.length).toBe(83);
      report('hkdf_sha256 wrapper', await tally(vectors, hkdfWrapper), vectors.length - invalid.length, invalid.length);
    });
  });

  describe('HMAC-SHA256 (hmac_sha256_test.json)', () => {
    const vectors = vectorsOf(hmacSha256File);

    test('the file holds the 174 cases its header declares', () => {
      expect(hmacSha256File.numberOfTests).toBe(174);
      expect(vectors).toHaveLength(hmacSha256File.numberOfTests);
    });

    test('primitive: hmacSha256, truncated to the tag size, matches every case', async () => {
      report('hmac_sha256 primitive', await tally(vectors, hmacPrimitive), 174, 0);
    });

    test('wrapper: hmacSha256Verify checks full tags and refuses truncated ones', async () => {
      const fullTag = vectors.filter((v) => hmacVerifyAccepts(v.group));
      // Full-tag groups: 128-bit key (3 valid), 520-bit key (3 valid), 256-bit key (27 valid + 54 invalid).
      expect(fullTag.filter((v) => isValid(v.test))).toHaveLength(3 + 3 + 27);
      expect(fullTag.filter((v) => !isValid(v.test))).toHaveLength(54);
      expect(fullTag).toHaveLength(3 + 3 + 27 + 54);
      expect(vectors.filter((v) => v.group.tagSize === 128)).toHaveLength(87);
      expect(vectors.length - fullTag.length).toBe(87);
      report('hmac_sha256 wrapper', await tally(vectors, hmacWrapper), fullTag.length, vectors.length - fullTag.length);
    });
  });
});
