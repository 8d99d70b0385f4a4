import { errorBodySchema } from '../http-errors.ts';
import { issuedSessionSchema, sessionKindSchema } from '../auth.ts';

/**
 * JSON schemas of the vault routes (they also feed the OpenAPI document).
 * OPAQUE messages of the library's cipher suite (ristretto255, 3DH, SHA-512)
 * have fixed sizes, so each is pinned to its exact base64url length: nothing
 * else reaches the decoder.
 */
const b64url = (length: number) => ({ type: 'string', pattern: '^[A-Za-z0-9_-]*$', minLength: length, maxLength: length }) as const;

/** Sizes in base64url characters (bytes in brackets). */
const REGISTRATION_REQUEST = b64url(43); // [32] blinded element
const REGISTRATION_RESPONSE = b64url(86); // [64] evaluated element ‖ server public key
const REGISTRATION_RECORD = b64url(256); // [192] client public key ‖ masking key ‖ envelope
const KE1 = b64url(128); // [96]
const KE2 = b64url(427); // [320]
const KE3 = b64url(86); // [64] client MAC
const LOGIN_ID = b64url(43); // [32] random
const SHARE = b64url(43); // [32]

const usernameSchema = { type: 'string', minLength: 1, maxLength: 64 } as const;
const attemptsLeft = { type: 'integer', minimum: 0 } as const;
export const security = [{ cookie: [] }, { bearer: [] }];

export const statusSchema = {
  summary: "This account's password vault: is a password set, and how many wrong guesses are left",
  tags: ['vault'],
  security,
  response: {
    200: {
      type: 'object',
      required: ['hasPassword', 'attemptsLeft', 'maxAttempts'],
      properties: { hasPassword: { type: 'boolean' }, attemptsLeft: { type: ['integer', 'null'] }, maxAttempts: { type: 'integer' } },
    },
    '4xx': errorBodySchema,
  },
} as const;

export const registrationStartSchema = {
  summary: 'Set or change the password, step 1 (OPAQUE registration request); needs a fresh step-up',
  tags: ['vault'],
  security,
  body: { type: 'object', required: ['registrationRequest'], additionalProperties: false, properties: { registrationRequest: REGISTRATION_REQUEST } },
  response: {
    200: { type: 'object', required: ['registrationResponse'], properties: { registrationResponse: REGISTRATION_RESPONSE } },
    '4xx': errorBodySchema,
  },
} as const;

export const registrationFinishSchema = {
  summary: 'Set or change the password, step 2: store the OPAQUE record; answers with the new vault share',
  tags: ['vault'],
  security,
  body: { type: 'object', required: ['registrationRecord'], additionalProperties: false, properties: { registrationRecord: REGISTRATION_RECORD } },
  response: {
    200: { type: 'object', required: ['share', 'attemptsLeft'], properties: { share: SHARE, attemptsLeft } },
    '4xx': errorBodySchema,
  },
} as const;

export const removeSchema = {
  summary: 'Remove the password (needs a fresh step-up; refused for the last unlock method); record and share are erased',
  tags: ['vault'],
  security,
  response: { 204: { type: 'null' }, '4xx': errorBodySchema },
} as const;

export const loginStartSchema = {
  summary: 'Password sign-in, step 1: takes one guess from the counter before answering (OPAQUE KE1 → KE2)',
  description:
    'Answers the same way, in size and shape, whether or not the name has a live vault. attemptsLeft counts the guesses left after this one; at 0 the next attempt erases the vault.',
  tags: ['vault'],
  body: {
    type: 'object',
    required: ['username', 'startLoginRequest'],
    additionalProperties: false,
    properties: { username: usernameSchema, startLoginRequest: KE1 },
  },
  response: {
    200: { type: 'object', required: ['loginId', 'loginResponse', 'attemptsLeft'], properties: { loginId: LOGIN_ID, loginResponse: KE2, attemptsLeft } },
    '4xx': errorBodySchema,
  },
} as const;

export const loginFinishSchema = {
  summary: 'Password sign-in, step 2: the client proves the password (KE3); releases the vault share and opens a session',
  tags: ['vault'],
  body: {
    type: 'object',
    required: ['loginId', 'finishLoginRequest'],
    additionalProperties: false,
    properties: { loginId: LOGIN_ID, finishLoginRequest: KE3, sessionKind: sessionKindSchema },
  },
  response: {
    200: {
      type: 'object',
      required: ['accountId', 'share', 'attemptsLeft', 'session'],
      properties: { accountId: { type: 'string' }, share: SHARE, attemptsLeft, session: issuedSessionSchema },
    },
    '4xx': errorBodySchema,
  },
} as const;

export const loginAbortSchema = {
  summary: 'Password sign-in: the client found the password wrong; ends the login (no guess is refunded)',
  tags: ['vault'],
  body: { type: 'object', required: ['loginId'], additionalProperties: false, properties: { loginId: LOGIN_ID } },
  response: { 204: { type: 'null' }, '4xx': errorBodySchema },
} as const;
