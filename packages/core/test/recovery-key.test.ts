/**
 * The recovery key (format.md §7), exhaustively over a few keys: the checksum
 * must catch every single substitution and every swap of two different
 * neighbours, the parser must tell a mistyped key (E_RECOVERY_KEY_TYPO) from a
 * mis-shaped one (E_RECOVERY_KEY_FORMAT), and no error message may echo the key.
 */
import { describe, expect, test } from 'vitest';
import {
  CofferError,
  RECOVERY_KEY_ALPHABET,
  RECOVERY_KEY_LENGTH,
  RECOVERY_KEY_SECRET_SYMBOLS,
  formatRecoveryKey,
  generateRecoveryKey,
  parseRecoveryKey,
  recoveryKeyChecksum,
} from '../src/index.ts';
import { _randomInternals } from '../src/primitives.ts';
import { RECOVERY_KEY_SEPARATORS } from './arbitraries.ts';

const ALPHABET = Array.from(RECOVERY_KEY_ALPHABET);

/**
 * A few keys: random ones, and two built to have runs of equal neighbours
 * (which a swap cannot change) and the extreme symbol values 0 and 30.
 */
function fixtureKeys(): string[] {
  const runs = new Uint8Array(RECOVERY_KEY_SECRET_SYMBOLS).map((_, i) => (i >> 2) % 31);
  const extremes = new Uint8Array(RECOVERY_KEY_SECRET_SYMBOLS).map((_, i) => (i % 3 === 0 ? 30 : 0));
  return [generateRecoveryKey().text, generateRecoveryKey().text, generateRecoveryKey().text, formatRecoveryKey(runs), formatRecoveryKey(extremes)];
}

function compact(text: string): string {
  return text.replaceAll('-', '');
}

/** The display form of 64 characters: 16 groups of 4 joined by dashes. */
function display(chars: string): string {
  return (chars.match(/.{1,4}/gu) ?? []).join('-');
}

/** The thrown CofferError; fails the test on a successful parse or any other kind of error. */
function parseError(text: string): CofferError {
  try {
    parseRecoveryKey(text);
  } catch (error) {
    if (error instanceof CofferError) return error;
    throw error;
  }
  throw new Error('parseRecoveryKey accepted a key it should have refused');
}

/**
 * format.md §7.4: messages never contain characters of the key. Every run of
 * three key characters is checked, case-sensitively: the messages are lower
 * case prose and numbers of at most two digits, so a run of three alphabet
 * characters in one can only come from the key.
 */
function expectNoKeyInMessage(message: string, ...keys: string[]): void {
  for (const key of keys) {
    for (let i = 0; i + 3 <= key.length; i++) {
      const run = key.slice(i, i + 3);
      if (message.includes(run)) throw new Error(`error message "${message}" contains "${run}" from the key`);
    }
  }
}

describe('checksum catches typing mistakes', () => {
  test('every single-character substitution at every position is E_RECOVERY_KEY_TYPO', () => {
    let tried = 0;
    let caught = 0;
    for (const key of fixtureKeys()) {
      const chars = compact(key);
      for (let position = 0; position < RECOVERY_KEY_LENGTH; position++) {
        for (const replacement of ALPHABET) {
          if (replacement === chars[position]) continue;
          const typo = chars.slice(0, position) + replacement + chars.slice(position + 1);
          tried++;
          const error = parseError(display(typo));
          expect(error.code).toBe('E_RECOVERY_KEY_TYPO');
          expectNoKeyInMessage(error.message, chars, typo);
          caught++;
        }
      }
    }
    console.log(`[recovery-key] substitutions: ${String(caught)}/${String(tried)} detected (5 keys × 64 positions × 30 characters)`);
    expect(tried).toBe(5 * 64 * 30);
    expect(caught).toBe(tried);
  });

  test('every swap of two different neighbours is E_RECOVERY_KEY_TYPO', () => {
    let tried = 0;
    let caught = 0;
    let equal = 0;
    for (const key of fixtureKeys()) {
      const chars = compact(key);
      for (let i = 0; i + 1 < RECOVERY_KEY_LENGTH; i++) {
        const [a, b] = [chars[i] ?? '', chars[i + 1] ?? ''];
        if (a === b) {
          equal++; // swapping equal characters is no typo at all
          continue;
        }
        const swapped = chars.slice(0, i) + b + a + chars.slice(i + 2);
        tried++;
        const error = parseError(display(swapped));
        expect(error.code).toBe('E_RECOVERY_KEY_TYPO');
        expectNoKeyInMessage(error.message, chars, swapped);
        caught++;
      }
    }
    console.log(`[recovery-key] neighbour swaps: ${String(caught)}/${String(tried)} detected (${String(equal)} equal pairs skipped)`);
    expect(tried + equal).toBe(5 * 63);
    expect(equal).toBeGreaterThan(0); // the fixture with runs makes sure the skip path is real
    expect(caught).toBe(tried);
  });

  test('characters outside the alphabet are E_RECOVERY_KEY_TYPO at every position, and the message never names them', () => {
    const foreign = ['0', 'O', '1', 'I', 'L', 'o', 'i', 'l', '!', 'é', 'Ä', '?', '#'];
    const lookAlikes = new Set(['0', 'O', '1', 'I', 'L', 'o', 'i', 'l']);
    let tried = 0;
    for (const key of fixtureKeys().slice(0, 2)) {
      const chars = compact(key);
      for (let position = 0; position < RECOVERY_KEY_LENGTH; position++) {
        for (const char of foreign) {
          const typo = chars.slice(0, position) + char + chars.slice(position + 1);
          const error = parseError(display(typo));
          tried++;
          expect(error.code).toBe('E_RECOVERY_KEY_TYPO');
          // The position is named as the user sees it (group and place in the group), the character never is.
          expect(error.message).toContain(`character ${String((position % 4) + 1)} of group ${String(Math.floor(position / 4) + 1)}`);
          expectNoKeyInMessage(error.message, chars);
          if (!lookAlikes.has(char)) expect(error.message).not.toContain(char);
          // Look-alikes get a hint; it lists the excluded characters, not what was typed.
          if (lookAlikes.has(char)) expect(error.message).toMatch(/never use/u);
        }
      }
    }
    console.log(`[recovery-key] foreign characters: ${String(tried)}/${String(tried)} refused as typos`);
    expect(tried).toBe(2 * 64 * foreign.length);
  });
});

describe('shape', () => {
  test('wrong lengths are E_RECOVERY_KEY_FORMAT', () => {
    const chars = compact(generateRecoveryKey().text);
    const cases = [
      '',
      '-',
      '    ',
      chars.slice(0, 1),
      chars.slice(0, 4),
      chars.slice(0, 60), // the secret without its check symbols
      chars.slice(0, 63),
      chars + '2',
      chars + chars.slice(0, 4),
      chars + chars,
      '-'.repeat(2000), // only separators, but far too long
      chars + ' '.repeat(1000), // a valid key drowned in padding beyond the 1024-character cap
    ];
    for (const text of cases) {
      const error = parseError(text);
      expect(error.code, `length ${String(text.length)}`).toBe('E_RECOVERY_KEY_FORMAT');
      expectNoKeyInMessage(error.message, chars);
    }
    console.log(`[recovery-key] wrong lengths: ${String(cases.length)}/${String(cases.length)} refused as E_RECOVERY_KEY_FORMAT`);
  });

  test('generated keys are shown as 16 groups of 4 joined by "-"', () => {
    const shape = new RegExp(`^[${RECOVERY_KEY_ALPHABET}]{4}(-[${RECOVERY_KEY_ALPHABET}]{4}){15}$`, 'u');
    for (let i = 0; i < 100; i++) {
      const key = generateRecoveryKey();
      expect(key.text).toMatch(shape);
      expect(key.text).toHaveLength(16 * 4 + 15);
      expect(key.text.split('-')).toHaveLength(16);
      expect(key.text).toBe(formatRecoveryKey(key.secret));
    }
  });

  test('parsing tolerates case, spaces, missing or mixed separators', () => {
    const key = generateRecoveryKey();
    const chars = compact(key.text);
    const groups = key.text.split('-');
    const variants = [
      key.text,
      key.text.toLowerCase(),
      chars,
      chars.toLowerCase(),
      groups.join(' '),
      groups.join('  '),
      `  ${key.text}\n`,
      groups.join('\n'),
      groups.join('\t'),
      groups.map((g, i) => g + (RECOVERY_KEY_SEPARATORS[i % RECOVERY_KEY_SEPARATORS.length] ?? '')).join(''),
      groups.join('\u2013'), // en dash, as word processors substitute it
      groups.join('\u2212'), // minus sign
      Array.from(chars).join(' '), // one space after every character
      groups.map((g, i) => (i % 2 === 0 ? g.toLowerCase() : g)).join('-'),
    ];
    for (const text of variants) {
      const parsed = parseRecoveryKey(text);
      expect(parsed.secret).toEqual(key.secret);
      expect(parsed.text).toBe(key.text);
    }
    console.log(`[recovery-key] tolerant parsing: ${String(variants.length)} spellings of one key accepted`);
  });
});

describe('generation', () => {
  test('symbols are uniform over the 31 values', () => {
    const KEYS = 2000;
    const counts = new Array<number>(31).fill(0);
    for (let k = 0; k < KEYS; k++) {
      const { secret } = generateRecoveryKey();
      expect(secret).toHaveLength(RECOVERY_KEY_SECRET_SYMBOLS);
      for (const value of secret) {
        if (value > 30) throw new Error(`symbol value ${String(value)} is outside 0..30`);
        counts[value] = (counts[value] ?? 0) + 1;
      }
    }
    const total = KEYS * RECOVERY_KEY_SECRET_SYMBOLS;
    const expected = total / 31;
    const chiSquare = counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    console.log(`[recovery-key] uniformity: ${String(total)} symbols, ${String(counts.filter((n) => n > 0).length)}/31 values seen, chi-square ${chiSquare.toFixed(1)} (30 degrees of freedom)`);
    expect(counts.every((n) => n > 0)).toBe(true);
    // Under uniformity chi-square (30 df) exceeds 100 with probability ≈ 3·10^-9; a plain
    // `byte % 31` without rejection (values 0..7 favoured by 9/8) gives about 370 here.
    expect(chiSquare).toBeLessThan(100);
  });

  test('bytes 248..255 are discarded, others map to byte mod 31 (format.md §7.2)', () => {
    // A fixed byte stream through the randomness seam: the result must follow the spec exactly.
    const stream = [247, 248, 30, 255, 31, 62, 249, 0, 250, 251, 252, 253, 254, 123, 200];
    // The property itself is saved and put back, so the library sees the very same function afterwards.
    const original = Object.getOwnPropertyDescriptor(_randomInternals, 'fill');
    if (original === undefined) throw new Error('primitives.ts has no randomness seam');
    let drawn = 0;
    _randomInternals.fill = (target) => {
      for (let i = 0; i < target.length; i++) target[i] = stream[drawn++ % stream.length] ?? 0;
    };
    try {
      const { secret } = generateRecoveryKey();
      const expected: number[] = [];
      for (let i = 0; expected.length < RECOVERY_KEY_SECRET_SYMBOLS; i++) {
        const byte = stream[i % stream.length] ?? 0;
        if (byte < 248) expected.push(byte % 31);
      }
      expect(Array.from(secret)).toEqual(expected);
    } finally {
      Object.defineProperty(_randomInternals, 'fill', original);
    }
  });

  test('the checksum of a generated key is what the display form carries', () => {
    for (let i = 0; i < 50; i++) {
      const key = generateRecoveryKey();
      const checks = Array.from(recoveryKeyChecksum(key.secret), (v) => RECOVERY_KEY_ALPHABET[v]).join('');
      expect(compact(key.text).slice(RECOVERY_KEY_SECRET_SYMBOLS)).toBe(checks);
      expect(parseRecoveryKey(key.text).secret).toEqual(key.secret);
    }
  });
});
