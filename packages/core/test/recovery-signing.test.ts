/**
 * Recovery-key sign-in (format.md §7.6): key derivation, the signed message,
 * and the verifier's refusals. The vectors pin the bytes; these tests pin the
 * behaviour around them (purpose separation, limits, hostile public keys).
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import formatMd from '../../../docs/format.md?raw';
import {
  CofferError,
  RECOVERY_SIGN_IN_PURPOSES,
  type RecoverySignInContext,
  type RecoverySignInPurpose,
  deriveRecoverySigningKey,
  fromHex,
  generateRecoveryKey,
  isSmallOrderEd25519Key,
  recoverySignInMessage,
  signRecoveryChallenge,
  toHex,
  verifyRecoverySignature,
} from '../src/index.ts';

const PURPOSES = Object.keys(RECOVERY_SIGN_IN_PURPOSES) as RecoverySignInPurpose[];
const challenge = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));
const context = (purpose: RecoverySignInPurpose, origin = 'https://backup.example.org'): RecoverySignInContext => ({ origin, purpose, challenge: challenge() });

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (error instanceof CofferError) return error.code;
    throw error;
  }
}

describe('recovery-key sign-in', () => {
  test('the key pair is a function of the recovery key alone; the private key cannot be exported', async () => {
    const key = generateRecoveryKey();
    const a = await deriveRecoverySigningKey(key);
    const b = await deriveRecoverySigningKey({ ...key, secret: key.secret.slice() });
    expect(toHex(a.publicKey)).toBe(toHex(b.publicKey));
    expect(a.publicKey).toHaveLength(32);
    expect(a.privateKey.extractable).toBe(false);
    expect(a.privateKey.usages).toEqual(['sign']);
    const other = await deriveRecoverySigningKey(generateRecoveryKey());
    expect(toHex(other.publicKey)).not.toBe(toHex(a.publicKey));
  });

  test('a signature verifies only for the purpose, origin and challenge it was made for', async () => {
    const pair = await deriveRecoverySigningKey(generateRecoveryKey());
    for (const purpose of PURPOSES) {
      const signed = context(purpose);
      const signature = await signRecoveryChallenge(pair, signed);
      await expect(verifyRecoverySignature(pair.publicKey, signed, signature)).resolves.toBeUndefined();
      for (const otherPurpose of PURPOSES.filter((p) => p !== purpose)) {
        expect(await codeOf(verifyRecoverySignature(pair.publicKey, { ...signed, purpose: otherPurpose }, signature)), `${purpose} as ${otherPurpose}`).toBe('E_AUTH_FAILED');
      }
      expect(await codeOf(verifyRecoverySignature(pair.publicKey, { ...signed, origin: 'https://backup.example.org:444' }, signature))).toBe('E_AUTH_FAILED');
      expect(await codeOf(verifyRecoverySignature(pair.publicKey, { ...signed, challenge: challenge() }, signature))).toBe('E_AUTH_FAILED');
    }
  });

  test('the message layout: label, purpose byte, length-prefixed origin, challenge', () => {
    const c = context('step-up', 'http://localhost:8787');
    const message = recoverySignInMessage(c);
    const label = new TextEncoder().encode('coffer/v1/recovery-sign-in/message');
    expect(toHex(message.slice(0, label.length))).toBe(toHex(label));
    expect(message[label.length]).toBe(4);
    expect(message[label.length + 1]).toBe('http://localhost:8787'.length);
    expect(toHex(message.slice(-32))).toBe(toHex(c.challenge));
    expect(message).toHaveLength(label.length + 2 + 21 + 32);
  });

  test('parameter limits: origin 1..255 bytes, 32-byte challenge, known purpose, exact key and signature lengths', async () => {
    const pair = await deriveRecoverySigningKey(generateRecoveryKey());
    const longest = `https://${'a'.repeat(247)}`;
    expect(recoverySignInMessage(context('sign-in', longest))).toBeInstanceOf(Uint8Array);
    const refused = [
      () => recoverySignInMessage(context('sign-in', `${longest}a`)),
      () => recoverySignInMessage(context('sign-in', '')),
      () => recoverySignInMessage({ ...context('sign-in'), challenge: new Uint8Array(33) }),
      () => recoverySignInMessage({ ...context('sign-in'), purpose: 'delete-everything' as RecoverySignInPurpose }),
    ];
    for (const call of refused) expect(call).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
    const signed = context('sign-in');
    const signature = await signRecoveryChallenge(pair, signed);
    expect(await codeOf(verifyRecoverySignature(pair.publicKey.slice(0, 31), signed, signature))).toBe('E_INVALID_ARGUMENT');
    expect(await codeOf(verifyRecoverySignature(pair.publicKey, signed, new Uint8Array(65)))).toBe('E_INVALID_ARGUMENT');
  });

  test('hostile public keys and signatures only ever fail with E_AUTH_FAILED', async () => {
    const signed = context('sign-in');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), async (publicKey, signature) => {
        expect(await codeOf(verifyRecoverySignature(publicKey, signed, signature))).toBe('E_AUTH_FAILED');
      }),
      { numRuns: 300 },
    );
  });

  test('small-order public keys are refused, whatever the signature (Chromium alone would accept some)', async () => {
    const signed = context('sign-in');
    const encodings = SMALL_ORDER.flatMap((hex) => {
      const key = fromHex(hex);
      const flipped = key.slice();
      flipped[31] = (flipped[31] ?? 0) ^ 0x80;
      return [key, flipped];
    });
    for (const key of encodings) {
      expect(isSmallOrderEd25519Key(key), toHex(key)).toBe(true);
      // The classic forgery: R = the key, S = 0 satisfies the verification equation for a fraction of all challenges.
      const forged = new Uint8Array(64);
      forged.set(key);
      expect(await codeOf(verifyRecoverySignature(key, signed, forged))).toBe('E_AUTH_FAILED');
    }
    const honest = await deriveRecoverySigningKey(generateRecoveryKey());
    expect(isSmallOrderEd25519Key(honest.publicKey)).toBe(false);
  });

  test('the small-order list is right: each entry times 8 is the identity, and an honest key is not', () => {
    for (const hex of SMALL_ORDER) expect(timesEightIsIdentity(fromHex(hex)), hex).toBe(true);
    expect(timesEightIsIdentity(fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'))).toBe(false);
  });

  test("format.md's PKCS#8 prefix turns an RFC 8032 seed into RFC 8032's key pair (§7.1, TEST 1)", async () => {
    const prefix = /fixed RFC 8410 prefix `([0-9a-f]+)`/.exec(formatMd)?.[1] ?? '';
    const pkcs8 = fromHex(prefix + '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const key = await crypto.subtle.importKey('pkcs8', new Uint8Array(pkcs8), { name: 'Ed25519' }, true, ['sign']);
    const jwk = await crypto.subtle.exportKey('jwk', key);
    expect(toHex(Uint8Array.from(atob((jwk.x ?? '').replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)))).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
    const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', key, new Uint8Array(0)));
    expect(toHex(signature)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });
});

/** The list under test, written out again here rather than imported, so a typo in one copy fails. */
const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

/** Plain affine edwards25519 arithmetic (RFC 8032 §5.1) with BigInt: decode y (mod p), recover x, double three times. */
function timesEightIsIdentity(encoded: Uint8Array): boolean {
  const p = 2n ** 255n - 19n;
  const mod = (a: bigint): bigint => ((a % p) + p) % p;
  const pow = (b: bigint, e: bigint): bigint => {
    let result = 1n;
    let base = mod(b);
    for (let k = e; k > 0n; k >>= 1n) {
      if (k & 1n) result = mod(result * base);
      base = mod(base * base);
    }
    return result;
  };
  const inv = (a: bigint): bigint => pow(a, p - 2n);
  const d = mod(-121665n * inv(121666n));
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? (encoded[i] ?? 0) & 0x7f : (encoded[i] ?? 0));
  y = mod(y);
  const u = mod(y * y - 1n);
  const v = mod(d * y * y + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (p - 5n) / 8n));
  if (mod(v * x * x) !== u) x = mod(x * pow(2n, (p - 1n) / 4n));
  if (mod(v * x * x) !== u) throw new Error('not a curve point');
  let point: [bigint, bigint] = [x, y];
  for (let i = 0; i < 3; i++) {
    const [x1, y1] = point;
    const t = mod(d * x1 * x1 * y1 * y1);
    point = [mod((2n * x1 * y1) * inv(1n + t)), mod((y1 * y1 + x1 * x1) * inv(1n - t))];
  }
  return point[0] === 0n && point[1] === 1n;
}
