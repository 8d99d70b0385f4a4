/**
 * docs/format.md and the vectors agree. This file reads the label tables and
 * the alphabet out of format.md itself and re-derives every successful vector
 * with a second, deliberately plain implementation of the spec's procedures on
 * raw WebCrypto — it imports nothing from the library except `LABELS` (to check
 * that the code's labels are the document's) and the error catalog.
 */
import { describe, expect, test } from 'vitest';
import formatMd from '../../../docs/format.md?raw';
import errorsMd from '../../../docs/errors.md?raw';
import { ERROR_CODES, LABELS } from '../src/index.ts';
import { type VectorFields, field } from './vector-file.ts';
import { loadVectors } from './vector-loader.ts';

const subtle = globalThis.crypto.subtle;
const enc = new TextEncoder();

function hex(h: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}
function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
function cat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
async function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, length = 32): Promise<Uint8Array> {
  const key = await subtle.importKey('raw', cat(ikm), 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: cat(salt), info: enc.encode(info) }, key, length * 8));
}
async function hmac(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const k = await subtle.importKey('raw', cat(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', k, cat(message)));
}
async function gcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const k = await subtle.importKey('raw', cat(key), 'AES-GCM', false, ['decrypt']);
  return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: cat(nonce), additionalData: cat(aad) }, k, cat(sealed)));
}

/** `| Purpose | \`label\` | Used for |` rows of every label table in format.md. */
function documentLabels(): Map<string, string> {
  const labels = new Map<string, string>();
  for (const match of formatMd.matchAll(/^\| ([^|`]+?) \| `(coffer\/v1\/[^`]+)` \|/gm)) {
    const [, purpose = '', label = ''] = match;
    labels.set(purpose.trim(), label);
  }
  return labels;
}
const doc = documentLabels();
function label(purpose: string): string {
  const value = doc.get(purpose);
  if (value === undefined) throw new Error(`format.md has no label for "${purpose}"`);
  return value;
}

const vectors = loadVectors().filter((v) => field(v.fields, 'expect') === 'success');
const byKind = (kind: string): [string, VectorFields][] => vectors.filter((v) => field(v.fields, 'kind') === kind).map((v) => [v.name, v.fields]);
const counts = new Map<string, number>();
const counted = (kind: string): void => void counts.set(kind, (counts.get(kind) ?? 0) + 1);

describe('format.md is the source of truth', () => {
  test('the labels in the code are exactly the labels in the document', () => {
    expect([...doc.values()].sort()).toEqual(Object.values(LABELS).sort());
    // Every coffer/v1 string mentioned anywhere in the document is a known label.
    const mentioned = new Set([...formatMd.matchAll(/`(coffer\/v1\/[a-z0-9/-]+)`/g)].map((m) => m[1]));
    for (const text of mentioned) expect(Object.values(LABELS)).toContain(text);
  });

  test('docs/errors.md lists exactly the codes of the catalog', () => {
    const listed = [...errorsMd.matchAll(/^\| `(E_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...ERROR_CODES].sort());
  });

  test.each(byKind('subkeys'))('%s: subkeys from §3.2', async (_n, f) => {
    const root = hex(field(f, 'root-key'));
    const salt = hex(field(f, 'repository-id'));
    const purposes: [string, string][] = [
      ['blob-encryption', 'blob encryption'], ['blob-id', 'blob id'], ['manifest', 'manifest'],
      ['index', 'index'], ['chunker', 'chunker'], ['config-mac', 'config MAC'],
    ];
    for (const [key, purpose] of purposes) expect(toHex(await hkdf(root, salt, label(purpose))), key).toBe(field(f, key));
    counted('subkeys');
  });

  test.each(byKind('keyslot-open'))('%s: slot key, wrap, commitment and AAD from §4.3–4.4', async (_n, f) => {
    // §4.1, parsed by hand.
    const slot = hex(field(f, 'keyslot'));
    const view = new DataView(slot.buffer);
    const type = slot[1] ?? 0;
    const metadataLength = view.getUint16(18);
    const saltAt = 20 + metadataLength;
    const prefix = slot.slice(0, saltAt + 32);
    const kdfSalt = slot.slice(saltAt, saltAt + 32);
    const nonce = slot.slice(saltAt + 32, saltAt + 44);
    const wrapped = slot.slice(saltAt + 44, saltAt + 92);
    const commitment = slot.slice(saltAt + 92, saltAt + 124);
    expect(slot.length).toBe(saltAt + 124);
    // §4.3: ikm per type, then the slot key.
    const ikm: Record<number, () => Uint8Array> = {
      1: () => hex(field(f, 'prf-output')),
      2: () => cat(hex(field(f, 'prf-output')), hex(field(f, 'server-share'))),
      3: () => cat(hex(field(f, 'export-key')), hex(field(f, 'vault-share'))),
      4: () => recoverySecret(field(f, 'recovery-key')),
    };
    const slotLabel: Record<number, string> = { 1: 'passkey-portable slot', 2: 'passkey-hybrid slot', 3: 'password slot', 4: 'recovery-key slot' };
    const slotKey = await hkdf(ikm[type]?.() ?? new Uint8Array(0), kdfSalt, label(slotLabel[type] ?? ''));
    expect(toHex(slotKey)).toBe(field(f, 'slot-key'));
    // §4.4
    const wrapKey = await hkdf(slotKey, new Uint8Array(0), label('slot wrap key'));
    expect(toHex(wrapKey)).toBe(field(f, 'wrap-key'));
    const ownCommitment = await hkdf(slotKey, new Uint8Array(0), label('slot commitment'));
    expect(toHex(ownCommitment)).toBe(field(f, 'commitment'));
    expect(toHex(ownCommitment)).toBe(toHex(commitment));
    const aad = cat(enc.encode(label('keyslot AAD')), hex(field(f, 'repository-id')), prefix);
    expect(toHex(aad)).toBe(field(f, 'aad'));
    expect(toHex(await gcmOpen(wrapKey, nonce, wrapped, aad))).toBe(field(f, 'root-key'));
    counted('keyslot-open');
  });

  test.each(byKind('config-open'))('%s: the config MAC from §5.2', async (_n, f) => {
    const config = hex(field(f, 'config'));
    const body = config.slice(0, -32);
    const mac = config.slice(-32);
    expect(toHex(config.slice(0, 8))).toBe(toHex(enc.encode('COFFERCF')));
    const repositoryId = config.slice(10, 26);
    const macKey = await hkdf(hex(field(f, 'root-key')), repositoryId, label('config MAC'));
    expect(toHex(macKey)).toBe(field(f, 'config-mac-key'));
    expect(toHex(await hmac(macKey, cat(enc.encode(label('config MAC input')), body)))).toBe(toHex(mac));
    expect(Number(new DataView(config.buffer).getBigUint64(34))).toBe(Number(field(f, 'generation')));
    counted('config-open');
  });

  test.each(byKind('blob-open'))('%s: the blob frame from §6', async (_n, f) => {
    const frame = hex(field(f, 'frame'));
    expect(frame[0]).toBe(1);
    const aad = cat(frame.slice(0, 1), hex(field(f, 'aad')));
    expect(toHex(await gcmOpen(hex(field(f, 'key')), frame.slice(1, 13), frame.slice(13), aad))).toBe(field(f, 'plaintext'));
    counted('blob-open');
  });

  test.each(byKind('recovery-key'))('%s: the recovery key from §7', (_n, f) => {
    expect(toHex(recoverySecret(field(f, 'input')))).toBe(field(f, 'secret'));
    counted('recovery-key');
  });

  test.each(byKind('recovery-sign-in'))('%s: the sign-in key and message from §7.6', async (_n, f) => {
    const seed = await hkdf(recoverySecret(field(f, 'recovery-key')), new Uint8Array(0), label('recovery sign-in key'));
    expect(toHex(seed)).toBe(field(f, 'seed'));
    const prefix = /fixed RFC 8410 prefix `([0-9a-f]+)`/.exec(formatMd)?.[1] ?? '';
    const key = await subtle.importKey('pkcs8', cat(hex(prefix), seed), { name: 'Ed25519' }, true, ['sign']);
    const x = (await subtle.exportKey('jwk', key)).x ?? '';
    expect(toHex(Uint8Array.from(atob(x.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)))).toBe(field(f, 'public-key'));
    const purpose = Number(new RegExp(`^\\s*\\| \`${field(f, 'purpose')}\` \\| (\\d+) \\|`, 'm').exec(formatMd)?.[1]);
    const origin = enc.encode(field(f, 'origin'));
    const message = cat(enc.encode(label('recovery sign-in message')), Uint8Array.of(purpose, origin.length), origin, hex(field(f, 'challenge')));
    expect(toHex(message)).toBe(field(f, 'message'));
    expect(toHex(new Uint8Array(await subtle.sign('Ed25519', key, message)))).toBe(field(f, 'signature'));
    counted('recovery-sign-in');
  });

  test('every successful vector of every derivation kind was re-derived', () => {
    const expected = ['subkeys', 'keyslot-open', 'config-open', 'blob-open', 'recovery-key', 'recovery-sign-in'];
    for (const kind of expected) expect(counts.get(kind) ?? 0, kind).toBe(byKind(kind).length);
    console.log(`[spec] re-derived from format.md: ${expected.map((k) => `${k} ${String(counts.get(k) ?? 0)}`).join(', ')}`);
  });
});

/** §7: the alphabet is read from the document; parsing and the checksum are written out plainly. */
function recoverySecret(input: string): Uint8Array {
  const alphabet = /alphabet = "([0-9A-Z]+)"/.exec(formatMd)?.[1] ?? '';
  expect(alphabet.length).toBe(31);
  const compact = input.replace(/[\s\-\u2010-\u2015\u2212_.]/gu, '').toUpperCase();
  expect(compact.length).toBe(64);
  const symbols = Array.from(compact, (c) => alphabet.indexOf(c));
  expect(symbols.every((s) => s >= 0)).toBe(true);
  const data = symbols.slice(0, 60);
  for (let k = 0; k < 4; k++) {
    const check = data.reduce((sum, d, i) => (sum + (i + 1) ** k % 31 * d) % 31, 0);
    expect(check).toBe(symbols[60 + k]);
  }
  return Uint8Array.from(data);
}
