import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { FastifyInstance } from 'fastify';
import { SoftAuthenticator, type Craft, type SoftCredential } from './soft-authenticator.ts';

/**
 * Drives the passkey API in-process (`app.inject`) with a software
 * authenticator: the honest ceremonies in one call each, and the pieces
 * (options, crafted response, verify) for tests that bend one of them.
 */
export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T & { error?: { code: string; message: string } };
}

export interface SignedIn {
  accountId: string;
  token: string;
  auth: SoftAuthenticator;
  credential: SoftCredential;
}

let addressCounter = 0;

export class ApiDriver {
  readonly app: FastifyInstance;
  readonly origin: string;
  readonly rpId: string;
  /** Each driver speaks from its own client address, so per-address rate limits of one test do not spill into another. */
  readonly remoteAddress: string;

  constructor(app: FastifyInstance, origin: string) {
    this.app = app;
    this.origin = origin;
    this.rpId = new URL(origin).hostname;
    addressCounter += 1;
    this.remoteAddress = `10.${String((addressCounter >> 16) & 0xff)}.${String((addressCounter >> 8) & 0xff)}.${String(addressCounter & 0xff)}`;
  }

  authenticator(options: { alg?: -7 | -257 | -8; be?: boolean; bs?: boolean; aaguid?: Uint8Array } = {}): SoftAuthenticator {
    return new SoftAuthenticator({ origin: this.origin, rpId: this.rpId, ...options });
  }

  async call<T = Record<string, unknown>>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, token?: string): Promise<Reply<T>> {
    const res = await this.app.inject({
      method,
      url: `/api/v1${url}`,
      remoteAddress: this.remoteAddress,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), 'x-coffer-device': 'test-driver' },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
    return { status: res.statusCode, body: (res.body === '' ? {} : res.json()) as Reply<T>['body'] };
  }

  async registerOptions(input: { username?: string; displayName?: string } = {}): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return ok(await this.call<{ options: PublicKeyCredentialCreationOptionsJSON }>('POST', '/passkeys/register/options', input)).options;
  }

  registerVerify(response: RegistrationResponseJSON, extra: Record<string, unknown> = {}) {
    return this.call<{ accountId: string; session: { token: string }; passkey: { id: string } }>('POST', '/passkeys/register/verify', {
      response,
      sessionKind: 'bearer',
      ...extra,
    });
  }

  /** Creates an account with one passkey on a new authenticator and signs it in with a bearer token. */
  async registerAccount(input: { username?: string; auth?: SoftAuthenticator; craft?: Craft } = {}): Promise<SignedIn> {
    const auth = input.auth ?? this.authenticator();
    const options = await this.registerOptions(input.username === undefined ? {} : { username: input.username });
    const { response, credential } = auth.register(options, input.craft);
    const body = ok(await this.registerVerify(response));
    return { accountId: body.accountId, token: body.session.token, auth, credential };
  }

  async signInOptions(username?: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return ok(await this.call<{ options: PublicKeyCredentialRequestOptionsJSON }>('POST', '/passkeys/sign-in/options', username === undefined ? {} : { username }))
      .options;
  }

  signInVerify(response: AuthenticationResponseJSON) {
    return this.call<{ accountId: string; passkeyId: string; session: { token: string } }>('POST', '/passkeys/sign-in/verify', { response, sessionKind: 'bearer' });
  }

  async signIn(auth: SoftAuthenticator, input: { username?: string; craft?: Craft } = {}): Promise<{ accountId: string; token: string }> {
    const options = await this.signInOptions(input.username);
    const body = ok(await this.signInVerify(auth.assert(options, input.craft)));
    return { accountId: body.accountId, token: body.session.token };
  }

  async stepUpOptions(token: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return ok(await this.call<{ options: PublicKeyCredentialRequestOptionsJSON }>('POST', '/passkeys/step-up/options', undefined, token)).options;
  }

  stepUpVerify(token: string, response: AuthenticationResponseJSON) {
    return this.call<{ stepUpAt: number }>('POST', '/passkeys/step-up/verify', { response }, token);
  }

  async addOptions(token: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return ok(await this.call<{ options: PublicKeyCredentialCreationOptionsJSON }>('POST', '/passkeys/add/options', undefined, token)).options;
  }

  addVerify(token: string, response: RegistrationResponseJSON, name?: string) {
    return this.call<{ passkey: { id: string; name: string; provider: string } }>('POST', '/passkeys/add/verify', { response, ...(name === undefined ? {} : { name }) }, token);
  }

  /** Adds a passkey on `auth` (a new authenticator by default) to the signed-in account. */
  async addPasskey(token: string, auth: SoftAuthenticator = this.authenticator()): Promise<{ auth: SoftAuthenticator; credential: SoftCredential }> {
    const { response, credential } = auth.register(await this.addOptions(token));
    ok(await this.addVerify(token, response));
    return { auth, credential };
  }

  async shareOptions(token: string, slotId: string, kind: 'create' | 'release', credentialId?: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const body = kind === 'create' ? { credentialId } : undefined;
    return ok(await this.call<{ options: PublicKeyCredentialRequestOptionsJSON }>('POST', `/passkeys/shares/${slotId}/${kind}/options`, body, token)).options;
  }

  shareVerify(token: string, slotId: string, kind: 'create' | 'release', response: AuthenticationResponseJSON) {
    return this.call<{ slotId: string; credentialId: string; share: string }>('POST', `/passkeys/shares/${slotId}/${kind}/verify`, { response }, token);
  }

  /** Runs a whole share ceremony with `credential` and returns the share, base64url. */
  async share(token: string, slotId: string, kind: 'create' | 'release', auth: SoftAuthenticator, credential: SoftCredential): Promise<string> {
    const options = await this.shareOptions(token, slotId, kind, kind === 'create' ? credential.id : undefined);
    return ok(await this.shareVerify(token, slotId, kind, auth.assert(options, { credential }))).share;
  }
}

/** The body of a 2xx reply, or a thrown error naming the status and code. */
export function ok<T>(reply: Reply<T>): T {
  if (reply.status >= 300) throw new Error(`expected success, got ${String(reply.status)} ${JSON.stringify(reply.body.error)}`);
  return reply.body;
}

/** A random keyslot id as the client names it (16 bytes, hex). */
export function newSlotId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex');
}
