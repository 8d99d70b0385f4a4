import { SLOT_ID_BYTES } from '@coffer/core';

/**
 * JSON schemas of the passkey routes (they also feed the OpenAPI document).
 * Every string from the client has a length bound: a response is a few
 * hundred bytes, so anything near the limits is hostile and stops at the
 * schema, before any decoding.
 */
const b64url = (maxLength: number, minLength = 1) => ({ type: 'string', pattern: '^[A-Za-z0-9_-]*$', minLength, maxLength }) as const;

/** 1023-byte credential ids (the WebAuthn maximum) are 1364 base64url characters. */
export const credentialIdSchema = b64url(1364);
/** A keyslot id (16 bytes) in lowercase hex, as the client's keyslot has it. */
export const slotIdSchema = { type: 'string', pattern: `^[0-9a-f]{${String(SLOT_ID_BYTES * 2)}}$` } as const;
export const passkeyNameSchema = { type: 'string', minLength: 1, maxLength: 64 } as const;
export const usernameSchema = { type: 'string', minLength: 1, maxLength: 64 } as const;

const clientExtensionResultsSchema = { type: 'object', maxProperties: 16, additionalProperties: true } as const;
const common = {
  id: credentialIdSchema,
  rawId: credentialIdSchema,
  type: { type: 'string', enum: ['public-key'] },
  authenticatorAttachment: { type: 'string', maxLength: 32 },
  clientExtensionResults: clientExtensionResultsSchema,
} as const;

export const registrationResponseSchema = {
  type: 'object',
  required: ['id', 'rawId', 'type', 'response', 'clientExtensionResults'],
  additionalProperties: false,
  properties: {
    ...common,
    response: {
      type: 'object',
      required: ['clientDataJSON', 'attestationObject'],
      additionalProperties: false,
      properties: {
        clientDataJSON: b64url(4096),
        attestationObject: b64url(32768),
        authenticatorData: b64url(16384),
        transports: { type: 'array', maxItems: 8, items: { type: 'string', maxLength: 32 } },
        publicKeyAlgorithm: { type: 'integer' },
        publicKey: b64url(4096),
      },
    },
  },
} as const;

export const authenticationResponseSchema = {
  type: 'object',
  required: ['id', 'rawId', 'type', 'response', 'clientExtensionResults'],
  additionalProperties: false,
  properties: {
    ...common,
    response: {
      type: 'object',
      required: ['clientDataJSON', 'authenticatorData', 'signature'],
      additionalProperties: false,
      properties: {
        clientDataJSON: b64url(4096),
        authenticatorData: b64url(4096),
        signature: b64url(2048),
        // 64 bytes at most (WebAuthn's user.id limit).
        userHandle: { anyOf: [b64url(86, 0), { type: 'null' }] },
      },
    },
  },
} as const;

/** The options objects are SimpleWebAuthn's JSON; the main fields are described, the rest passes through. */
export const creationOptionsSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['challenge', 'rp', 'user', 'pubKeyCredParams'],
  properties: {
    challenge: { type: 'string' },
    rp: { type: 'object', additionalProperties: true },
    user: { type: 'object', additionalProperties: true },
    pubKeyCredParams: { type: 'array', items: { type: 'object', additionalProperties: true } },
    timeout: { type: 'number' },
  },
} as const;

export const requestOptionsSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['challenge'],
  properties: {
    challenge: { type: 'string' },
    rpId: { type: 'string' },
    allowCredentials: { type: 'array', items: { type: 'object', additionalProperties: true } },
    userVerification: { type: 'string' },
    timeout: { type: 'number' },
  },
} as const;

export const passkeyInfoSchema = {
  type: 'object',
  required: ['id', 'name', 'provider', 'aaguid', 'createdAt', 'lastUsedAt', 'backupEligible', 'backedUp', 'transports'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    provider: { type: 'string', description: 'The passkey provider, from the AAGUID ("Passkey" when unknown).' },
    aaguid: { type: 'string' },
    createdAt: { type: 'number' },
    lastUsedAt: { type: ['number', 'null'] },
    backupEligible: { type: 'boolean' },
    backedUp: { type: 'boolean' },
    transports: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const shareInfoSchema = {
  type: 'object',
  required: ['slotId', 'credentialId', 'createdAt', 'lastReleasedAt'],
  properties: {
    slotId: { type: 'string' },
    credentialId: { type: 'string' },
    createdAt: { type: 'number' },
    lastReleasedAt: { type: ['number', 'null'] },
  },
} as const;

export const releasedShareSchema = {
  type: 'object',
  required: ['slotId', 'credentialId', 'share'],
  properties: {
    slotId: { type: 'string' },
    credentialId: { type: 'string' },
    share: { type: 'string', description: 'The 32-byte server share, base64url. Only ever in this response body.' },
  },
} as const;
