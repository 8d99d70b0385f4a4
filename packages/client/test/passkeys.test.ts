import { passkeyPrfInput } from '@coffer/core';
import { describe, expect, test } from 'vitest';
import { CofferApi, toBase64Url } from '../src/http.ts';
import { createAccountWithPasskey, getPasskeyShare, hybridUnlockSecret, signInWithPasskey, stripPrf, type PasskeyAuthenticator } from '../src/passkeys.ts';

/**
 * The SDK's passkey calls around a fake server and a fake authenticator: what
 * is sent (never a PRF output), what is kept (the bearer token), and how
 * WebAuthn failures and timeouts surface. The real ceremonies run in
 * Chromium in packages/server/test/passkeys-chromium.test.ts.
 */
interface Sent {
  method: string;
  path: string;
  body: string;
}

function fakeServer(answers: Record<string, unknown>): { api: CofferApi; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetch = (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const href = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
    const path = href.replace('https://coffer.test/api/v1', '');
    sent.push({ method: init?.method ?? 'GET', path, body: typeof init?.body === 'string' ? init.body : '' });
    const answer = answers[path];
    if (answer === undefined) return Promise.resolve(new Response(JSON.stringify({ error: { code: 'E_NOT_FOUND', message: 'no' } }), { status: 404 }));
    return Promise.resolve(new Response(JSON.stringify(answer), { status: 200 }));
  };
  return { api: new CofferApi({ baseUrl: 'https://coffer.test', sessionKind: 'bearer', fetch }), sent };
}

const creationOptions = { challenge: 'AAAA', rp: { id: 'coffer.test', name: 'Coffer' }, user: { id: 'AAAA', name: 'alice', displayName: 'alice' }, pubKeyCredParams: [] };
const requestOptions = { challenge: 'BBBB', rpId: 'coffer.test', allowCredentials: [] };
const assertion = (extensions: object) => ({
  id: 'cred',
  rawId: 'cred',
  type: 'public-key' as const,
  response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' },
  clientExtensionResults: extensions,
});

describe('passkey SDK', () => {
  test('registration feeds the PRF input as bytes, returns the output, posts none of it, keeps the bearer token', async () => {
    const prfSalt = crypto.getRandomValues(new Uint8Array(32));
    const output = crypto.getRandomValues(new Uint8Array(32));
    const browserBuffer = output.slice().buffer;
    let seenFirst: unknown;
    const authenticator: PasskeyAuthenticator = {
      create: (options) => {
        seenFirst = (options.extensions as { prf?: { eval?: { first?: unknown } } } | undefined)?.prf?.eval?.first;
        return Promise.resolve({
          id: 'cred',
          rawId: 'cred',
          type: 'public-key',
          response: { clientDataJSON: 'e30', attestationObject: 'AA' },
          clientExtensionResults: { prf: { enabled: true, results: { first: browserBuffer } }, credProps: { rk: true } },
        });
      },
      get: () => Promise.reject(new Error('unused')),
    };
    const { api, sent } = fakeServer({
      '/passkeys/register/options': { options: { ...creationOptions, extensions: { prf: {}, credProps: true } } },
      '/passkeys/register/verify': { accountId: 'acc', username: 'alice', displayName: 'alice', passkey: { id: 'cred' }, session: { sessionId: 's', expiresAt: 1, token: 'secret-token' } },
    });
    const result = await createAccountWithPasskey(api, { username: 'alice', prfSalt, authenticator });
    expect(seenFirst).toEqual(passkeyPrfInput(prfSalt));
    expect(result.prfOutput).toEqual(output);
    expect(result.prfEnabled).toBe(true);
    expect(new Uint8Array(browserBuffer).every((b) => b === 0)).toBe(true);
    expect(api.token).toBe('secret-token');
    expect(result.session).toEqual({ sessionId: 's', expiresAt: 1 });
    const posted = JSON.parse(sent[1]?.body ?? '{}') as { response: { clientExtensionResults: unknown }; sessionKind: string };
    expect(posted.response.clientExtensionResults).toEqual({ prf: { enabled: true }, credProps: { rk: true } });
    expect(posted.sessionKind).toBe('bearer');
    expect(sent.map((s) => s.body).join('')).not.toContain(toBase64Url(output));
  });

  test('PRF results in toJSON() form (base64url) are stripped too', () => {
    const output = crypto.getRandomValues(new Uint8Array(32));
    const { response, prf } = stripPrf(assertion({ prf: { results: { first: toBase64Url(output) } } }));
    expect(prf.prfOutput).toEqual(output);
    expect(JSON.stringify(response)).not.toContain(toBase64Url(output));
    expect(() => stripPrf(assertion({ prf: { results: { first: new ArrayBuffer(16) } } }))).toThrow(expect.objectContaining({ code: 'E_WEBAUTHN_REJECTED' }));
  });

  test('a share is not even requested when the passkey gives no PRF output', async () => {
    const { api, sent } = fakeServer({ [`/passkeys/shares/${'ab'.repeat(16)}/release/options`]: { options: requestOptions, credentialId: 'cred' } });
    const authenticator: PasskeyAuthenticator = { create: () => Promise.reject(new Error('unused')), get: () => Promise.resolve(assertion({})) };
    await expect(getPasskeyShare(api, { slotId: 'AB'.repeat(16), prfSalt: new Uint8Array(32), authenticator })).rejects.toMatchObject({ code: 'E_WEBAUTHN_REJECTED' });
    expect(sent.map((s) => s.path)).toEqual([`/passkeys/shares/${'ab'.repeat(16)}/release/options`]);
  });

  test('share release: slot ids are 16 bytes of hex, the share 32 bytes; the pieces make a hybrid unlock secret', async () => {
    const slot = new Uint8Array(16).fill(0xcd);
    const share = crypto.getRandomValues(new Uint8Array(32));
    const prf = crypto.getRandomValues(new Uint8Array(32));
    const path = `/passkeys/shares/${'cd'.repeat(16)}/release`;
    const authenticator: PasskeyAuthenticator = {
      create: () => Promise.reject(new Error('unused')),
      get: () => Promise.resolve(assertion({ prf: { results: { first: prf.slice().buffer } } })),
    };
    const good = fakeServer({ [`${path}/options`]: { options: requestOptions }, [`${path}/verify`]: { slotId: 'cd'.repeat(16), credentialId: 'cred', share: toBase64Url(share) } });
    const secret = await getPasskeyShare(good.api, { slotId: slot, prfSalt: new Uint8Array(32), authenticator });
    expect(secret).toMatchObject({ share, prfOutput: prf, credentialId: 'cred' });
    expect(hybridUnlockSecret(secret)).toEqual({ type: 'passkey-hybrid', prfOutput: prf, serverShare: share });
    expect(good.sent.map((s) => s.body).join('')).not.toContain(toBase64Url(prf));

    const short = fakeServer({ [`${path}/options`]: { options: requestOptions }, [`${path}/verify`]: { slotId: 'x', credentialId: 'cred', share: toBase64Url(share.slice(0, 16)) } });
    await expect(getPasskeyShare(short.api, { slotId: slot, prfSalt: new Uint8Array(32), authenticator })).rejects.toMatchObject({ code: 'E_FORMAT' });
    await expect(getPasskeyShare(good.api, { slotId: 'not-hex', prfSalt: new Uint8Array(32), authenticator })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(getPasskeyShare(good.api, { slotId: slot, prfSalt: new Uint8Array(31), authenticator })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
  });

  test('a prompt nobody answers is cancelled at the deadline; a dismissed prompt is E_PASSKEY_CANCELLED, a failed one E_WEBAUTHN_REJECTED, with the cause', async () => {
    const { api, sent } = fakeServer({ '/passkeys/sign-in/options': { options: requestOptions } });
    let cancelled = false;
    const silent: PasskeyAuthenticator = {
      create: () => new Promise(() => undefined),
      get: () => new Promise(() => undefined),
      cancel: () => {
        cancelled = true;
      },
    };
    await expect(signInWithPasskey(api, { authenticator: silent, timeoutMs: 20 })).rejects.toMatchObject({ code: 'E_PASSKEY_CANCELLED' });
    expect(cancelled).toBe(true);
    const refusal = new DOMException('The operation either timed out or was not allowed.', 'NotAllowedError');
    const refusing: PasskeyAuthenticator = { create: () => Promise.reject(refusal), get: () => Promise.reject(refusal) };
    await expect(signInWithPasskey(api, { authenticator: refusing })).rejects.toMatchObject({ code: 'E_PASSKEY_CANCELLED', cause: refusal });
    const insecure = new DOMException('The RP ID is not a registrable domain suffix of the origin.', 'SecurityError');
    const failing: PasskeyAuthenticator = { create: () => Promise.reject(insecure), get: () => Promise.reject(insecure) };
    await expect(signInWithPasskey(api, { authenticator: failing })).rejects.toMatchObject({ code: 'E_WEBAUTHN_REJECTED', cause: insecure });
    // Nothing was posted for either attempt.
    expect(sent.filter((s) => s.path.endsWith('/verify'))).toEqual([]);
  });
});
