/**
 * Acceptance criterion: "Flipping any single bit of a sealed blob, keyslot or
 * header is detected, and no API returns plaintext that failed authentication."
 *
 * Exhaustive over small fixtures: every bit is flipped one at a time and the
 * API must throw a CofferError — it may never return. The tally of codes is
 * printed so a reader sees *how* each flip was caught (the header MAC, the
 * keyslot AAD, the key commitment or the parser).
 */
import { describe, expect, test } from 'vitest';
import {
  CofferError,
  type CofferErrorCode,
  type ConfigHeader,
  type SlotDescription,
  type UnlockSecret,
  SealingKey,
  addKeyslot,
  checkConfigFreshness,
  encodeKeyslot,
  generateRecoveryKey,
  initRepository,
  parseRecoveryKey,
  randomBytes,
  removeKeyslot,
  sealConfig,
  unlockRepository,
} from '../src/index.ts';
import { indexOfBytes } from './arbitraries.ts';

/** Codes a parser gives to bytes that do not follow the layout. */
const FORMAT_CODES: readonly CofferErrorCode[] = ['E_FORMAT', 'E_TRUNCATED', 'E_TOO_LARGE', 'E_UNSUPPORTED_VERSION'];
const RETURNED = 'RETURNED';

const recoveryDescription: SlotDescription = {
  type: 'recovery-key',
  metadata: { label: 'Printed recovery sheet, kept in the drawer', createdAt: 1_700_000_000_000, lastUsedAt: 0 },
};

const passwordDescription: SlotDescription = {
  type: 'password',
  metadata: { label: 'Password', createdAt: 1_700_000_000_000, lastUsedAt: 0, vaultAccount: 'https://coffer.example.org/#alice' },
};

function recoverySecret(): UnlockSecret & { type: 'recovery-key' } {
  return { type: 'recovery-key', recoveryKey: generateRecoveryKey() };
}

function passwordSecret(): UnlockSecret {
  return { type: 'password', exportKey: randomBytes(64), vaultShare: randomBytes(32) };
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  const at = bit >> 3;
  out[at] = (out[at] ?? 0) ^ (0x80 >> (bit & 7));
  return out;
}

/** What a call did: the CofferError code it threw, RETURNED, or the untyped error (which fails the test). */
async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return RETURNED;
  } catch (error) {
    return error instanceof CofferError ? error.code : `UNTYPED ${String(error)}`;
  }
}

function syncOutcome(run: () => unknown): string {
  try {
    run();
    return RETURNED;
  } catch (error) {
    return error instanceof CofferError ? error.code : `UNTYPED ${String(error)}`;
  }
}

async function expectCode(run: () => Promise<unknown>, code: CofferErrorCode): Promise<void> {
  expect(await outcome(run)).toBe(code);
}

/**
 * Runs `attempt(i)` for i in 0..count-1, a batch at a time (each is a chain of
 * WebCrypto calls, and overlapping them hides the per-call latency), and
 * returns one outcome per index.
 */
async function outcomes(count: number, attempt: (i: number) => Promise<unknown>): Promise<string[]> {
  const results: string[] = [];
  for (let start = 0; start < count; start += 64) {
    const batch = Array.from({ length: Math.min(64, count - start) }, (_, k) => outcome(() => attempt(start + k)));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

function tally(results: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/** Asserts every flip was refused with an allowed code and prints `[tamper] name: d/t … detected (codes)`. */
function report(name: string, results: readonly string[], allowed: readonly string[], unit = 'single-bit flips'): void {
  const counts = tally(results);
  const detected = results.filter((r) => r !== RETURNED).length;
  const codes = [...counts].sort().map(([code, n]) => `${code} ${String(n)}`).join(', ');
  console.log(`[tamper] ${name}: ${String(detected)}/${String(results.length)} ${unit} detected (${codes})`);
  expect(counts.get(RETURNED) ?? 0).toBe(0);
  expect(detected).toBe(results.length);
  for (const code of counts.keys()) expect(allowed, `unexpected outcome ${code}`).toContain(code);
}

describe('sealed blob', () => {
  const aad = new TextEncoder().encode('blob:3f2a…:data');

  async function fixture(): Promise<{ key: SealingKey; frame: Uint8Array; plaintext: Uint8Array }> {
    const key = await SealingKey.import(randomBytes(32));
    const plaintext = randomBytes(64);
    const frame = await key.seal(plaintext, aad);
    // The fixture itself must open, or every "detected" below would be vacuous.
    expect(await key.open(frame, aad)).toEqual(plaintext);
    return { key, frame, plaintext };
  }

  test('every single-bit flip of the frame is refused', async () => {
    const { key, frame } = await fixture();
    const bits = frame.length * 8;
    const results = await outcomes(bits, (bit) => key.open(flipBit(frame, bit), aad));
    report('blob frame', results, ['E_AUTH_FAILED', 'E_UNSUPPORTED_VERSION']);
    expect(bits).toBe((1 + 12 + 64 + 16) * 8);
    // The version byte is checked before anything else; every other bit is covered by the GCM tag.
    expect(results.slice(0, 8).every((r) => r === 'E_UNSUPPORTED_VERSION')).toBe(true);
    expect(results.slice(8).every((r) => r === 'E_AUTH_FAILED')).toBe(true);
  });

  test('truncation at every length is refused', async () => {
    const { key, frame } = await fixture();
    const results = await outcomes(frame.length, (length) => key.open(frame.slice(0, length), aad));
    report('blob frame', results, ['E_TRUNCATED', 'E_AUTH_FAILED'], 'truncations');
    // Below the 29-byte overhead the parser refuses; above it the tag does.
    results.forEach((r, length) => { expect(r).toBe(length < 29 ? 'E_TRUNCATED' : 'E_AUTH_FAILED'); });
    await expectCode(() => key.open(Uint8Array.of(...frame, 0), aad), 'E_AUTH_FAILED');
  });

  test('wrong associated data is refused', async () => {
    const { key, frame, plaintext } = await fixture();
    const wrong = [new Uint8Array(0), aad.slice(0, -1), Uint8Array.of(...aad, 0), Uint8Array.of(1, ...aad)];
    const flips = Array.from({ length: aad.length * 8 }, (_, bit) => flipBit(aad, bit));
    const results = await outcomes(wrong.length + flips.length, (i) => key.open(frame, wrong[i] ?? flips[i - wrong.length] ?? aad));
    report('blob frame', results, ['E_AUTH_FAILED'], 'wrong AADs');
    expect(await key.open(frame, aad)).toEqual(plaintext);
  });
});

describe('keyslot and config header', () => {
  test('every single-bit flip of a recovery-key keyslot inside its config is refused', async () => {
    const secret = recoverySecret();
    const repo = await initRepository({ description: recoveryDescription, secret, createdAt: 1_700_000_000_000 });
    const unlocked = await unlockRepository(repo.configBytes, secret);
    expect(unlocked.rootKey).toEqual(repo.rootKey);

    const slotBytes = encodeKeyslot(repo.slot);
    const at = indexOfBytes(repo.configBytes, slotBytes);
    expect(at).toBeGreaterThan(0);
    const bits = slotBytes.length * 8;
    const results = await outcomes(bits, (bit) => unlockRepository(flipBit(repo.configBytes, at * 8 + bit), secret));
    report('keyslot', results, ['E_WRONG_KEY', 'E_AUTH_FAILED', ...FORMAT_CODES]);
  });

  test('every single-bit flip of a two-slot config header is refused, whichever slot unlocks', async () => {
    const recovery = recoverySecret();
    const password = passwordSecret();
    const repo = await initRepository({ description: recoveryDescription, secret: recovery, params: Uint8Array.of(1, 2, 3, 4), createdAt: 1_700_000_000_000 });
    const { configBytes, config } = await addKeyslot(repo, { description: passwordDescription, secret: password });
    expect(config.keyslots).toHaveLength(2);
    expect((await unlockRepository(configBytes, recovery)).rootKey).toEqual(repo.rootKey);
    expect((await unlockRepository(configBytes, password)).rootKey).toEqual(repo.rootKey);

    const [recoverySlot, passwordSlot] = config.keyslots.map((slot) => {
      const bytes = encodeKeyslot(slot);
      const start = indexOfBytes(configBytes, bytes);
      return { start: start * 8, end: (start + bytes.length) * 8 };
    });
    if (recoverySlot === undefined || passwordSlot === undefined) throw new Error('fixture has two slots');

    const bits = configBytes.length * 8;
    for (const [name, secret, otherSlot] of [['recovery key', recovery, passwordSlot], ['password', password, recoverySlot]] as const) {
      const results = await outcomes(bits, (bit) => unlockRepository(flipBit(configBytes, bit), secret));
      report(`config header (unlocked by ${name})`, results, ['E_WRONG_KEY', 'E_AUTH_FAILED', ...FORMAT_CODES]);
      // A flip in the slot that is not used parses fine (or breaks the layout),
      // so it can only be the header MAC that catches it.
      const inOther = results.slice(otherSlot.start, otherSlot.end);
      const byMac = inOther.filter((r) => r === 'E_AUTH_FAILED').length;
      console.log(`[tamper] config header (unlocked by ${name}): ${String(byMac)}/${String(inOther.length)} flips in the other slot caught by the header MAC, the rest by the parser`);
      for (const r of inOther) expect(['E_AUTH_FAILED', ...FORMAT_CODES]).toContain(r);
      // The trailing MAC itself: every flip is a MAC mismatch.
      expect(results.slice(bits - 256).every((r) => r === 'E_AUTH_FAILED')).toBe(true);
    }
  });

  test("a keyslot moved into another repository's config is refused (the AAD binds the repository id)", async () => {
    const secretA = recoverySecret();
    const a = await initRepository({ description: recoveryDescription, secret: secretA });
    const secretB = recoverySecret();
    const b = await initRepository({ description: recoveryDescription, secret: secretB });

    // The attacker holds only B's root key: it adds A's slot to B's config and MACs it correctly.
    const forged: ConfigHeader = { ...b.config, generation: b.config.generation + 1, keyslots: [...b.config.keyslots, a.slot] };
    const forgedBytes = await sealConfig(forged, b.rootKey);
    // The forged config is valid for B, so the refusal below is the binding, not a broken MAC.
    expect((await unlockRepository(forgedBytes, secretB)).rootKey).toEqual(b.rootKey);
    await expectCode(() => unlockRepository(forgedBytes, secretA), 'E_AUTH_FAILED');
    await expectCode(() => unlockRepository(forgedBytes, secretA, { slotId: a.slot.slotId }), 'E_AUTH_FAILED');

    // Claiming A's repository id instead makes A's slot open, but the MAC is under B's root key.
    const impostor: ConfigHeader = { ...forged, repositoryId: a.config.repositoryId, keyslots: [a.slot] };
    await expectCode(async () => unlockRepository(await sealConfig(impostor, b.rootKey), secretA), 'E_AUTH_FAILED');
  });

  test('a rolled-back or forked config is refused once a newer one was seen', async () => {
    const secret = recoverySecret();
    const gen1 = await initRepository({ description: recoveryDescription, secret });
    let seen = checkConfigFreshness(gen1, undefined);
    const gen2 = await addKeyslot(gen1, { description: passwordDescription, secret: passwordSecret() });
    seen = checkConfigFreshness(await unlockRepository(gen2.configBytes, secret), seen);
    expect(seen.generation).toBe(2);

    // Storage serves the old config again: it still verifies (same root key), so only freshness can catch it.
    const old = await unlockRepository(gen1.configBytes, secret);
    expect(syncOutcome(() => checkConfigFreshness(old, seen))).toBe('E_ROLLBACK');

    // A different generation-2 config from the same base is a fork.
    const fork = await addKeyslot(gen1, { description: recoveryDescription, secret: recoverySecret() });
    const forked = await unlockRepository(fork.configBytes, secret);
    expect(forked.config.generation).toBe(2);
    expect(syncOutcome(() => checkConfigFreshness(forked, seen))).toBe('E_ROLLBACK');

    // The config seen before is still accepted.
    expect(checkConfigFreshness(await unlockRepository(gen2.configBytes, secret), seen).generation).toBe(2);
  });

  test('removing the last keyslot is refused', async () => {
    const secret = recoverySecret();
    const repo = await initRepository({ description: recoveryDescription, secret });
    await expectCode(() => removeKeyslot(repo, repo.slot.slotId), 'E_LAST_KEYSLOT');

    // With two slots one may go, then the survivor is the last one.
    const two = await addKeyslot(repo, { description: passwordDescription, secret: passwordSecret() });
    const one = await removeKeyslot(two, repo.slot.slotId);
    expect(one.config.keyslots).toHaveLength(1);
    await expectCode(() => removeKeyslot(one, two.added.slotId), 'E_LAST_KEYSLOT');

    // A slot of a type this version cannot open does not count as a way in.
    const unknown = { ...repo.slot, type: 200, slotId: randomBytes(16) };
    const withUnknown = { ...repo, config: { ...repo.config, keyslots: [repo.slot, unknown] } };
    await expectCode(() => removeKeyslot(withUnknown, repo.slot.slotId), 'E_LAST_KEYSLOT');
  });

  test('a wrong but well-formed recovery key is E_WRONG_KEY, a mistyped one E_RECOVERY_KEY_TYPO', async () => {
    const secret = recoverySecret();
    const repo = await initRepository({ description: recoveryDescription, secret });

    const other = parseRecoveryKey(generateRecoveryKey().text);
    await expectCode(() => unlockRepository(repo.configBytes, { type: 'recovery-key', recoveryKey: other }), 'E_WRONG_KEY');

    const text = secret.recoveryKey.text;
    const mistyped = (text[0] === '2' ? '3' : '2') + text.slice(1);
    await expectCode(async () => unlockRepository(repo.configBytes, { type: 'recovery-key', recoveryKey: parseRecoveryKey(mistyped) }), 'E_RECOVERY_KEY_TYPO');
    // The right key, typed loosely, still opens.
    const loose = parseRecoveryKey(text.toLowerCase().replaceAll('-', ' '));
    expect((await unlockRepository(repo.configBytes, { type: 'recovery-key', recoveryKey: loose })).rootKey).toEqual(repo.rootKey);
  });
});
