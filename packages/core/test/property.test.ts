/**
 * Property tests for every byte format and the recovery-key text:
 * (a) round trips — parse(encode(x)) is x and encode(parse(bytes)) is bytes;
 * (b) hostile input — random bytes and mutated valid encodings may only ever
 *     parse or throw a CofferError with a catalogued code, never a TypeError,
 *     RangeError or anything else a caller cannot branch on.
 * 10,000 cases per structure and per parser in the default run.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  BLOB_FRAME_VERSION,
  CONFIG_MAGIC,
  CONFIG_VERSION,
  CofferError,
  type CofferErrorCode,
  ERROR_CODES,
  KEYSLOT_TYPE_CODES,
  KEYSLOT_VERSION,
  type KeyslotType,
  RECOVERY_KEY_ALPHABET,
  decodeSlotMetadata,
  encodeBlobFrame,
  encodeConfigHeader,
  encodeKeyslot,
  encodeSlotMetadata,
  formatRecoveryKey,
  parseBlobFrame,
  parseConfigHeader,
  parseKeyslot,
  parseRecoveryKey,
} from '../src/index.ts';
import {
  blobFrameArb,
  configHeaderArb,
  configMacArb,
  encodedConfigArb,
  encodedKeyslotArb,
  encodedSlotMetadataArb,
  firstDifference,
  hostileBytesArb,
  hostileRecoveryTextArb,
  keyslotArb,
  recoverySecretArb,
  slotDescriptionArbs,
  typedRecoveryKeyArb,
} from './arbitraries.ts';

const RUNS = 10_000;

/** Runs a synchronous property RUNS times and returns how many cases actually ran. */
function check<T>(arb: fc.Arbitrary<T>, predicate: (value: T) => void): number {
  let cases = 0;
  fc.assert(
    fc.property(arb, (value) => {
      cases++;
      predicate(value);
    }),
    { numRuns: RUNS },
  );
  return cases;
}

/**
 * Plain throws inside properties: fast-check reports them with the shrunk
 * counterexample, and a vitest `expect` per case costs more than the parse.
 */
function expectSame(actual: unknown, expected: unknown): void {
  const difference = firstDifference(actual, expected);
  if (difference !== undefined) throw new Error(`values differ at ${difference}`);
}

function ensure(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

describe('round trip', () => {
  function roundTrip<T>(name: string, arb: fc.Arbitrary<T>, encode: (x: T) => Uint8Array, parse: (bytes: Uint8Array) => T): void {
    test(name, () => {
      const cases = check(arb, (value) => {
        const bytes = encode(value);
        const parsed = parse(bytes);
        expectSame(parsed, value);
        expectSame(encode(parsed), bytes);
      });
      console.log(`[property] ${name} round trip: ${String(cases)} cases`);
      expect(cases).toBe(RUNS);
    });
  }

  roundTrip('keyslot', keyslotArb, encodeKeyslot, parseKeyslot);

  for (const [type, arb] of Object.entries(slotDescriptionArbs)) {
    roundTrip(`slot metadata (${type})`, arb, encodeSlotMetadata, (bytes) => decodeSlotMetadata(slotCode(type), bytes));
  }

  // The MAC travels with the header; parse must hand back the same 32 bytes and the exact body it covers.
  roundTrip(
    'config header',
    fc.record({ config: configHeaderArb, mac: configMacArb }),
    ({ config, mac }) => encodeConfigHeader(config, mac),
    (bytes) => {
      const parsed = parseConfigHeader(bytes);
      expectSame(parsed.body, bytes.subarray(0, bytes.length - 32));
      return { config: parsed.config, mac: parsed.mac };
    },
  );

  roundTrip('blob frame', blobFrameArb, encodeBlobFrame, parseBlobFrame);

  test('recovery key text', () => {
    const cases = check(recoverySecretArb, (secret) => {
      const text = formatRecoveryKey(secret);
      const parsed = parseRecoveryKey(text);
      expectSame(parsed.secret, secret);
      ensure(parsed.text === text, `display form changed: ${parsed.text}`);
    });
    console.log(`[property] recovery key text round trip: ${String(cases)} cases`);
    expect(cases).toBe(RUNS);
  });

  test('recovery key text with random case, spaces and dashes', () => {
    const cases = check(typedRecoveryKeyArb, ({ secret, text }) => {
      const parsed = parseRecoveryKey(text);
      expectSame(parsed.secret, secret);
      ensure(parsed.text === formatRecoveryKey(secret), `display form is not canonical: ${parsed.text}`);
    });
    console.log(`[property] recovery key typed variants round trip: ${String(cases)} cases`);
    expect(cases).toBe(RUNS);
  });
});

describe('hostile input', () => {
  /** What a key-free parser may say about bytes: their shape, never a key or argument error. */
  const FORMAT_CODES: readonly CofferErrorCode[] = ['E_FORMAT', 'E_TRUNCATED', 'E_TOO_LARGE', 'E_UNSUPPORTED_VERSION'];
  const RECOVERY_TEXT_CODES: readonly CofferErrorCode[] = ['E_RECOVERY_KEY_FORMAT', 'E_RECOVERY_KEY_TYPO'];

  /**
   * Feeds RUNS hostile inputs to `parse`. Anything thrown must be a CofferError
   * with a catalogued code from `allowed`; an accepted input must pass `verify`
   * (canonical: encode(parse(bytes)) is bytes). Prints one line with the tally
   * even when the property fails, so the count of untyped errors shows.
   */
  function hostile<T, R>(
    name: string,
    arb: fc.Arbitrary<T>,
    parse: (input: T) => R,
    verify: (result: R, input: T) => void,
    allowed: readonly CofferErrorCode[],
  ): void {
    test(name, () => {
      let cases = 0;
      let accepted = 0;
      let untyped = 0;
      const codes = new Map<string, number>();
      try {
        fc.assert(
          fc.property(arb, (input) => {
            cases++;
            let result: R;
            try {
              result = parse(input);
            } catch (error) {
              if (!(error instanceof CofferError) || !ERROR_CODES.includes(error.code)) {
                untyped++;
                throw new Error(`untyped error escaped: ${String(error)}`, { cause: error });
              }
              ensure(allowed.includes(error.code), `${error.code} is not a code this parser should throw: ${error.message}`);
              codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
              return;
            }
            accepted++;
            verify(result, input);
          }),
          { numRuns: RUNS },
        );
      } finally {
        const tally = [...codes].sort().map(([code, n]) => `${code} ${String(n)}`).join(', ');
        console.log(`[property] ${name}: ${String(cases)} cases, ${String(untyped)} untyped errors (${String(accepted)} parsed; ${tally})`);
      }
      expect(cases).toBe(RUNS);
    });
  }

  hostile(
    'parseKeyslot hostile bytes',
    hostileBytesArb(encodedKeyslotArb, Uint8Array.of(KEYSLOT_VERSION)),
    parseKeyslot,
    (slot, bytes) => { expectSame(encodeKeyslot(slot), bytes); },
    FORMAT_CODES,
  );

  // Each known type code against metadata of every type (cross-type confusion
  // included), then codes no version knows, which must be refused as such.
  for (const [type, arb] of Object.entries(slotDescriptionArbs)) {
    const code = slotCode(type);
    hostile(
      `decodeSlotMetadata(type ${String(code)}) hostile bytes`,
      hostileBytesArb(fc.oneof({ weight: 3, arbitrary: encodedSlotMetadataArb(arb) }, { weight: 1, arbitrary: encodedSlotMetadataArb() })),
      (bytes) => decodeSlotMetadata(code, bytes),
      (description, bytes) => {
        ensure(description.type === type, `type ${String(code)} decoded as ${description.type}`);
        expectSame(encodeSlotMetadata(description), bytes);
      },
      FORMAT_CODES,
    );
  }

  hostile(
    'decodeSlotMetadata(unknown type) hostile bytes',
    fc.tuple(
      fc.oneof(fc.constantFrom(0, 5, 255, 256, -1, 1.5, Number.NaN, 2 ** 32 + 4), fc.integer({ min: 5, max: 255 })),
      hostileBytesArb(encodedSlotMetadataArb()),
    ),
    ([code, bytes]) => decodeSlotMetadata(code, bytes),
    () => { throw new Error('an unknown type code was decoded'); },
    ['E_UNSUPPORTED_VERSION'],
  );

  hostile(
    'parseConfigHeader hostile bytes',
    hostileBytesArb(encodedConfigArb, Uint8Array.of(...CONFIG_MAGIC, CONFIG_VERSION, 0)),
    parseConfigHeader,
    (parsed, bytes) => {
      expectSame(encodeConfigHeader(parsed.config, parsed.mac), bytes);
      expectSame(parsed.body, bytes.subarray(0, bytes.length - 32));
    },
    FORMAT_CODES,
  );

  hostile(
    'parseBlobFrame hostile bytes',
    hostileBytesArb(blobFrameArb.map((frame) => ({ bytes: encodeBlobFrame(frame), fields: [] })), Uint8Array.of(BLOB_FRAME_VERSION)),
    parseBlobFrame,
    (frame, bytes) => { expectSame(encodeBlobFrame(frame), bytes); },
    FORMAT_CODES,
  );

  hostile(
    'parseRecoveryKey hostile text',
    hostileRecoveryTextArb,
    parseRecoveryKey,
    (key) => {
      // Accepted text must decode to a real secret, and the display form must be canonical.
      ensure(key.secret.length === 60 && key.secret.every((v) => v < RECOVERY_KEY_ALPHABET.length), 'accepted key has a bad secret');
      ensure(key.text === formatRecoveryKey(key.secret), 'accepted key has a non-canonical display form');
    },
    RECOVERY_TEXT_CODES,
  );
});

describe('wrong argument types', () => {
  // Callers outside TypeScript (JSON, a bridge, `any`) can hand a parser
  // something that is not a Uint8Array. errors.ts promises E_INVALID_ARGUMENT
  // for "a parameter of the wrong type" instead of a TypeError.
  const notBytes: unknown[] = [undefined, null, 'bytes', 42, [1, 2, 3], {}, new Uint16Array(4), new ArrayBuffer(8)];
  const parsers: Record<string, (input: unknown) => unknown> = {
    parseKeyslot: (input) => parseKeyslot(input as Uint8Array),
    parseConfigHeader: (input) => parseConfigHeader(input as Uint8Array),
    parseBlobFrame: (input) => parseBlobFrame(input as Uint8Array),
    decodeSlotMetadata: (input) => decodeSlotMetadata(4, input as Uint8Array),
    parseRecoveryKey: (input) => parseRecoveryKey(input as string),
  };
  for (const [name, parse] of Object.entries(parsers)) {
    test(`${name} refuses non-byte input with E_INVALID_ARGUMENT`, () => {
      for (const input of notBytes) {
        if (name === 'parseRecoveryKey' && typeof input === 'string') continue;
        let thrown: unknown;
        try {
          parse(input);
        } catch (error) {
          thrown = error;
        }
        expect(thrown, `${name}(${Object.prototype.toString.call(input)})`).toBeInstanceOf(CofferError);
        expect((thrown as CofferError).code).toBe('E_INVALID_ARGUMENT');
      }
    });
  }
});

function slotCode(type: string): number {
  return KEYSLOT_TYPE_CODES[type as KeyslotType];
}
