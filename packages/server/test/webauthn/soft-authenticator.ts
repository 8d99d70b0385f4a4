import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';

/**
 * A software WebAuthn authenticator for tests: it answers the server's options
 * the way a CTAP2 platform authenticator behind a browser would (ES256, RS256
 * or — to test refusal — Ed25519 keys, "none" attestation, a signature counter),
 * and every part of the answer can be bent to craft a hostile response:
 * client data fields, RP id hash, flags, counter, signature, attestation.
 * Nothing here is Coffer code: it is the other side of the protocol.
 */
export type CoseAlg = -7 | -257 | -8;

export interface SoftCredential {
  readonly id: string;
  readonly alg: CoseAlg;
  readonly privateKey: KeyObject;
  readonly cosePublicKey: Uint8Array;
  readonly userHandle: Uint8Array;
  counter: number;
}

export interface Flags {
  up: boolean;
  uv: boolean;
  be: boolean;
  bs: boolean;
}

/** Every knob a crafted response can turn; the defaults make an honest response. */
export interface Craft {
  origin?: string;
  type?: string;
  challenge?: string;
  crossOrigin?: boolean;
  topOrigin?: string;
  /** Replaces the whole clientDataJSON text. */
  clientDataText?: string;
  /** The RP id whose SHA-256 goes into the authenticator data. */
  rpIdForHash?: string;
  flags?: Partial<Flags>;
  /** The counter to report; by default the credential's counter plus one (registration: 0). */
  counter?: number;
  mutateAuthData?: (authData: Uint8Array) => Uint8Array;
  mutateSignature?: (signature: Uint8Array) => Uint8Array;
  /** Sign with this key instead of the credential's. */
  signWith?: KeyObject;
  /** base64url user handle to report, or null for none. */
  userHandle?: string | null;
  /** The key type of a new credential. */
  alg?: CoseAlg;
  /** The id of a new credential (random by default). */
  newCredentialId?: Uint8Array;
  /** The credential id written into the authenticator data (registration), if not the response's. */
  authDataCredentialId?: Uint8Array;
  fmt?: string;
  attStmt?: Map<string, Uint8Array | number>;
  /** Replaces the attestation object bytes. */
  attestationObject?: Uint8Array;
  /** Which credential answers an assertion; by default the first one the options allow. */
  credential?: SoftCredential;
  /** Keep (true, default) or forget the new credential after a registration. */
  keep?: boolean;
}

export interface SoftAuthenticatorOptions {
  origin: string;
  rpId: string;
  aaguid?: Uint8Array;
  alg?: CoseAlg;
  /** Backup eligibility and state (a synced passkey has both). */
  be?: boolean;
  bs?: boolean;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string): Uint8Array => new Uint8Array(createHash('sha256').update(data).digest());

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  readonly origin: string;
  readonly rpId: string;
  readonly aaguid: Uint8Array;
  readonly alg: CoseAlg;
  readonly be: boolean;
  readonly bs: boolean;

  constructor(options: SoftAuthenticatorOptions) {
    this.origin = options.origin;
    this.rpId = options.rpId;
    this.aaguid = options.aaguid ?? new Uint8Array(16);
    this.alg = options.alg ?? -7;
    this.be = options.be ?? false;
    this.bs = options.bs ?? false;
  }

  /** navigator.credentials.create(), as @simplewebauthn/browser's startRegistration() returns it. */
  register(options: PublicKeyCredentialCreationOptionsJSON, craft: Craft = {}): { response: RegistrationResponseJSON; credential: SoftCredential } {
    const excluded = new Set((options.excludeCredentials ?? []).map((c) => c.id));
    if (this.credentials.some((c) => excluded.has(c.id))) throw new Error('InvalidStateError: this authenticator already holds an excluded credential');
    const alg = craft.alg ?? this.alg;
    const { privateKey, cosePublicKey } = newKeyPair(alg);
    const rawId = craft.newCredentialId ?? new Uint8Array(randomBytes(32));
    const credential: SoftCredential = { id: b64(rawId), alg, privateKey, cosePublicKey, userHandle: Buffer.from(options.user.id, 'base64url'), counter: 0 };
    const counter = craft.counter ?? 0;
    const idInAuthData = craft.authDataCredentialId ?? rawId;
    const attested = concat(this.aaguid, u16(idInAuthData.length), idInAuthData, cosePublicKey);
    let authData = concat(sha256(craft.rpIdForHash ?? this.rpId), [this.flagsByte(craft, true)], u32(counter), attested);
    if (craft.mutateAuthData) authData = craft.mutateAuthData(authData);
    const attestationObject =
      craft.attestationObject ??
      isoCBOR.encode(
        new Map<string, string | Uint8Array | Map<string, Uint8Array | number>>([
          ['fmt', craft.fmt ?? 'none'],
          ['attStmt', craft.attStmt ?? new Map()],
          ['authData', authData],
        ]),
      );
    const clientDataJSON = this.clientData('webauthn.create', options.challenge, craft);
    credential.counter = counter;
    if (craft.keep !== false) this.credentials.push(credential);
    return {
      credential,
      response: {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key',
        response: { clientDataJSON: b64(clientDataJSON), attestationObject: b64(attestationObject), transports: ['internal'] },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      },
    };
  }

  /** navigator.credentials.get(), as @simplewebauthn/browser's startAuthentication() returns it. */
  assert(options: PublicKeyCredentialRequestOptionsJSON, craft: Craft = {}): AuthenticationResponseJSON {
    const allowed = new Set((options.allowCredentials ?? []).map((c) => c.id));
    const credential = craft.credential ?? this.credentials.find((c) => allowed.size === 0 || allowed.has(c.id));
    if (!credential) throw new Error('NotAllowedError: no credential of this authenticator is allowed');
    const counter = craft.counter ?? credential.counter + 1;
    let authData = concat(sha256(craft.rpIdForHash ?? this.rpId), [this.flagsByte(craft, false)], u32(counter));
    if (craft.mutateAuthData) authData = craft.mutateAuthData(authData);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, craft);
    let signature = signBytes(credential.alg, craft.signWith ?? credential.privateKey, concat(authData, sha256(clientDataJSON)));
    if (craft.mutateSignature) signature = craft.mutateSignature(signature);
    credential.counter = Math.max(credential.counter, counter);
    const userHandle = craft.userHandle === undefined ? b64(credential.userHandle) : craft.userHandle;
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64(clientDataJSON),
        authenticatorData: b64(authData),
        signature: b64(signature),
        ...(userHandle === null ? {} : { userHandle }),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  private flagsByte(craft: Craft, attested: boolean): number {
    const f: Flags = { up: true, uv: true, be: this.be, bs: this.bs, ...craft.flags };
    return (f.up ? 0x01 : 0) | (f.uv ? 0x04 : 0) | (f.be ? 0x08 : 0) | (f.bs ? 0x10 : 0) | (attested ? 0x40 : 0);
  }

  private clientData(type: string, challenge: string, craft: Craft): Uint8Array {
    if (craft.clientDataText !== undefined) return new TextEncoder().encode(craft.clientDataText);
    const data: Record<string, unknown> = {
      type: craft.type ?? type,
      challenge: craft.challenge ?? challenge,
      origin: craft.origin ?? this.origin,
      crossOrigin: craft.crossOrigin ?? false,
    };
    if (craft.topOrigin !== undefined) data['topOrigin'] = craft.topOrigin;
    return new TextEncoder().encode(JSON.stringify(data));
  }
}

/** A fresh key pair of the given COSE algorithm, with its COSE_Key encoding (RFC 9053). */
export function newKeyPair(alg: CoseAlg): { privateKey: KeyObject; cosePublicKey: Uint8Array } {
  if (alg === -7) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x ?? '', 'base64url')],
      [-3, Buffer.from(jwk.y ?? '', 'base64url')],
    ]);
    return { privateKey, cosePublicKey: isoCBOR.encode(cose) };
  }
  if (alg === -257) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = new Map<number, number | Uint8Array>([
      [1, 3],
      [3, -257],
      [-1, Buffer.from(jwk.n ?? '', 'base64url')],
      [-2, Buffer.from(jwk.e ?? '', 'base64url')],
    ]);
    return { privateKey, cosePublicKey: isoCBOR.encode(cose) };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  const cose = new Map<number, number | Uint8Array>([
    [1, 1],
    [3, -8],
    [-1, 6],
    [-2, Buffer.from(jwk.x ?? '', 'base64url')],
  ]);
  return { privateKey, cosePublicKey: isoCBOR.encode(cose) };
}

function signBytes(alg: CoseAlg, key: KeyObject, data: Uint8Array): Uint8Array {
  // ES256 signatures are DER (node's default for EC keys), RS256 is PKCS#1 v1.5, Ed25519 signs the message itself.
  return new Uint8Array(sign(alg === -8 ? null : 'sha256', data, key));
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts.map((p) => Uint8Array.from(p))));
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}
