import { RECOVERY_SIGN_IN_PURPOSES } from '@coffer/core';
import { issuedSessionSchema, sessionKindSchema } from '../auth.ts';
import { errorBodySchema } from '../http-errors.ts';

/** JSON schemas of the recovery-key routes (they also feed the OpenAPI document). */
const b64url = (length: number) => ({ type: 'string', pattern: '^[A-Za-z0-9_-]*$', minLength: length, maxLength: length }) as const;

export const security = [{ cookie: [] }, { bearer: [] }];
const usernameSchema = { type: 'string', minLength: 1, maxLength: 64 } as const;
const labelSchema = { type: 'string', minLength: 1, maxLength: 64 } as const;

/** challenge [32], Ed25519 public key [32], signature [64], in base64url characters. */
const proofProperties = { challenge: b64url(43), publicKey: b64url(43), signature: b64url(86) } as const;
const proofRequired = ['challenge', 'publicKey', 'signature'] as const;

export const recoveryKeyInfoSchema = {
  type: 'object',
  required: ['id', 'label', 'createdAt', 'lastUsedAt'],
  properties: { id: { type: 'string' }, label: { type: 'string' }, createdAt: { type: 'number' }, lastUsedAt: { type: ['number', 'null'] } },
} as const;

export const challengeSchema = {
  summary: 'A single-use challenge for a recovery-key signature; register and step-up need a session',
  tags: ['recovery-keys'],
  body: {
    type: 'object',
    required: ['purpose'],
    additionalProperties: false,
    properties: { purpose: { type: 'string', enum: Object.keys(RECOVERY_SIGN_IN_PURPOSES) } },
  },
  response: {
    200: { type: 'object', required: ['challenge', 'expiresAt'], properties: { challenge: b64url(43), expiresAt: { type: 'number' } } },
    '4xx': errorBodySchema,
  },
} as const;

export const signInSchema = {
  summary: 'Sign in with a recovery key: a signature over a sign-in challenge; the public key names the account',
  tags: ['recovery-keys'],
  body: {
    type: 'object',
    required: proofRequired,
    additionalProperties: false,
    properties: { ...proofProperties, username: usernameSchema, sessionKind: sessionKindSchema },
  },
  response: {
    200: {
      type: 'object',
      required: ['accountId', 'recoveryKeyId', 'session'],
      properties: { accountId: { type: 'string' }, recoveryKeyId: { type: 'string' }, session: issuedSessionSchema },
    },
    '4xx': errorBodySchema,
  },
} as const;

export const createAccountSchema = {
  summary: 'Create an account whose first unlock method is a recovery key (no passkey needed), and sign in',
  tags: ['recovery-keys'],
  body: {
    type: 'object',
    required: proofRequired,
    additionalProperties: false,
    properties: { ...proofProperties, username: usernameSchema, displayName: { type: 'string', minLength: 1, maxLength: 64 }, label: labelSchema, sessionKind: sessionKindSchema },
  },
  response: {
    201: {
      type: 'object',
      required: ['accountId', 'recoveryKey', 'session'],
      properties: { accountId: { type: 'string' }, recoveryKey: recoveryKeyInfoSchema, session: issuedSessionSchema },
    },
    '4xx': errorBodySchema,
  },
} as const;

export const registerSchema = {
  summary: "Add a recovery key to the signed-in account (needs a fresh step-up and the key's signature)",
  tags: ['recovery-keys'],
  security,
  body: { type: 'object', required: proofRequired, additionalProperties: false, properties: { ...proofProperties, label: labelSchema } },
  response: { 201: { type: 'object', required: ['recoveryKey'], properties: { recoveryKey: recoveryKeyInfoSchema } }, '4xx': errorBodySchema },
} as const;

export const stepUpSchema = {
  summary: "A fresh recovery-key signature on the current session: sensitive operations are allowed for five minutes",
  tags: ['recovery-keys'],
  security,
  body: { type: 'object', required: proofRequired, additionalProperties: false, properties: proofProperties },
  response: { 200: { type: 'object', required: ['stepUpAt'], properties: { stepUpAt: { type: 'number' } } }, '4xx': errorBodySchema },
} as const;

export const listSchema = {
  summary: "The account's recovery keys (never their public keys)",
  tags: ['recovery-keys'],
  security,
  response: {
    200: { type: 'object', required: ['recoveryKeys'], properties: { recoveryKeys: { type: 'array', items: recoveryKeyInfoSchema } } },
    '4xx': errorBodySchema,
  },
} as const;

export const removeSchema = {
  summary: 'Remove a recovery key (needs a fresh step-up; refused for the last unlock method)',
  tags: ['recovery-keys'],
  security,
  params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } },
  response: { 204: { type: 'null' }, '4xx': errorBodySchema },
} as const;
