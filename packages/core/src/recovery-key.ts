/**
 * The 64-character recovery key (format.md §7).
 *
 * 60 secret symbols + 4 check symbols over an alphabet of 31 characters with no
 * look-alikes (no 0/O, 1/I/L). 31 is prime, so the checksum is plain arithmetic
 * modulo 31 (the field GF(31)), which gives guarantees a hash cannot:
 *
 *   check_k = Σ_{i=0..59} (i+1)^k · d_i  mod 31,  k = 0..3
 *
 * - any single substituted character changes check_0 by a non-zero amount;
 * - swapping two different neighbours keeps check_0 but changes check_1 by
 *   (c_j − c_{j+1})·(−1) ≠ 0, because neighbouring weights i+1, i+2 differ mod 31;
 * - the same two facts cover the check symbols themselves (format.md §7.3).
 * Random garbage passes with probability 31^-4 ≈ 1.1·10^-6.
 *
 * Secret strength: 60·log2(31) ≈ 297.3 bits, above the 256 bits we require.
 */
import { fail } from './errors.ts';
import { randomBytes } from './primitives.ts';

export const RECOVERY_KEY_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const RECOVERY_KEY_SECRET_SYMBOLS = 60;
export const RECOVERY_KEY_CHECK_SYMBOLS = 4;
export const RECOVERY_KEY_LENGTH = RECOVERY_KEY_SECRET_SYMBOLS + RECOVERY_KEY_CHECK_SYMBOLS;
export const RECOVERY_KEY_GROUP = 4;

const MODULUS = RECOVERY_KEY_ALPHABET.length; // 31
const SYMBOL_OF = new Map(Array.from({ length: MODULUS }, (_, value) => [RECOVERY_KEY_ALPHABET.charAt(value), value]));
/** Characters people type for ones we left out; named in the error so they can fix it. */
const LOOK_ALIKES = new Set(['0', 'O', '1', 'I', 'L']);
/** Everything a person or a copy-paste may put between groups. */
const SEPARATORS = /[\s\-\u2010-\u2015\u2212_.]/gu;

export interface RecoveryKey {
  /** The 60 secret symbol values (each 0..30): the key material a recovery-key slot derives from. */
  readonly secret: Uint8Array;
  /** The display form: 16 groups of 4 characters joined by dashes. */
  readonly text: string;
}

/** Draws 60 uniform symbols by rejection sampling: bytes 0..247 (8·31) map to byte mod 31, others are redrawn. */
export function generateRecoveryKey(): RecoveryKey {
  const secret = new Uint8Array(RECOVERY_KEY_SECRET_SYMBOLS);
  let filled = 0;
  while (filled < secret.length) {
    for (const byte of randomBytes(64)) {
      if (byte < 8 * MODULUS && filled < secret.length) secret[filled++] = byte % MODULUS;
    }
  }
  return { secret, text: formatRecoveryKey(secret) };
}

export function recoveryKeyChecksum(secret: Uint8Array): Uint8Array {
  checkSecret(secret);
  const checks = new Uint8Array(RECOVERY_KEY_CHECK_SYMBOLS);
  for (let k = 0; k < RECOVERY_KEY_CHECK_SYMBOLS; k++) {
    let sum = 0;
    for (let i = 0; i < secret.length; i++) sum = (sum + powMod(i + 1, k) * (secret[i] ?? 0)) % MODULUS;
    checks[k] = sum;
  }
  return checks;
}

export function formatRecoveryKey(secret: Uint8Array): string {
  const symbols = [...secret, ...recoveryKeyChecksum(secret)];
  const chars = symbols.map((value) => RECOVERY_KEY_ALPHABET[value] ?? '');
  const groups: string[] = [];
  for (let i = 0; i < chars.length; i += RECOVERY_KEY_GROUP) groups.push(chars.slice(i, i + RECOVERY_KEY_GROUP).join(''));
  return groups.join('-');
}

/**
 * Parses what a person typed. Case, spaces, dashes and similar separators are
 * ignored. A wrong length is `E_RECOVERY_KEY_FORMAT`; a character outside the
 * alphabet or a checksum mismatch is `E_RECOVERY_KEY_TYPO` (a *wrong but
 * well-formed* key only shows up later, as `E_WRONG_KEY` from the keyslot).
 * Errors name positions, never the characters themselves.
 */
export function parseRecoveryKey(input: string): RecoveryKey {
  if (typeof input !== 'string') fail('E_INVALID_ARGUMENT', 'recovery key must be a string');
  if (input.length > 1024) fail('E_RECOVERY_KEY_FORMAT', 'recovery key text is far too long');
  // Only ASCII letters fold: full Unicode case mapping would quietly turn 'ſ' into 'S'.
  const chars = Array.from(input.replace(SEPARATORS, ''), (c) => (c >= 'a' && c <= 'z' ? c.toUpperCase() : c));
  if (chars.length !== RECOVERY_KEY_LENGTH) {
    fail('E_RECOVERY_KEY_FORMAT', `a recovery key has ${String(RECOVERY_KEY_LENGTH)} characters, this has ${String(chars.length)}`);
  }
  const symbols = new Uint8Array(RECOVERY_KEY_LENGTH);
  for (let i = 0; i < RECOVERY_KEY_LENGTH; i++) {
    const char = chars[i] ?? '';
    const value = SYMBOL_OF.get(char);
    if (value === undefined) {
      const hint = LOOK_ALIKES.has(char) ? ' (recovery keys never use 0, O, 1, I or L)' : '';
      const where = `character ${String((i % RECOVERY_KEY_GROUP) + 1)} of group ${String(Math.floor(i / RECOVERY_KEY_GROUP) + 1)}`;
      fail('E_RECOVERY_KEY_TYPO', `${where} is not a recovery-key character${hint}`);
    }
    symbols[i] = value;
  }
  const secret = symbols.slice(0, RECOVERY_KEY_SECRET_SYMBOLS);
  const expected = recoveryKeyChecksum(secret);
  for (let k = 0; k < RECOVERY_KEY_CHECK_SYMBOLS; k++) {
    if (expected[k] !== symbols[RECOVERY_KEY_SECRET_SYMBOLS + k]) {
      fail('E_RECOVERY_KEY_TYPO', 'the recovery key checksum does not match: a character is mistyped or two are swapped');
    }
  }
  return { secret, text: formatRecoveryKey(secret) };
}

function checkSecret(secret: Uint8Array): void {
  if (!(secret instanceof Uint8Array) || secret.length !== RECOVERY_KEY_SECRET_SYMBOLS) {
    fail('E_INVALID_ARGUMENT', `recovery key secret must be ${String(RECOVERY_KEY_SECRET_SYMBOLS)} symbols`);
  }
  for (const value of secret) if (value >= MODULUS) fail('E_INVALID_ARGUMENT', 'recovery key symbols must be 0..30');
}

function powMod(base: number, exponent: number): number {
  let result = 1;
  for (let i = 0; i < exponent; i++) result = (result * base) % MODULUS;
  return result;
}
