import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from './harness.ts';
import { bundleSdk, inPage, launchChromium, openDevice, servePage, wipeSiteData, type Device, type PageSdk } from './webauthn/chromium.ts';

/**
 * Real ceremonies: Debian's Chromium with a CDP virtual authenticator that
 * supports PRF, the client SDK bundled from source, the server listening on
 * http://localhost:PORT (SQLite). One browser for the file; each WebAuthn
 * call has a 15 s deadline (in the SDK and around every page call).
 */
const b64 = (n: number) => randomBytes(n).toString('base64url');
const hex = (n: number) => randomBytes(n).toString('hex');

interface Reg {
  accountId: string;
  passkeyId: string;
  prf: string | null;
  prfEnabled: boolean;
}

describe('passkeys in Chromium with a PRF virtual authenticator (SQLite)', () => {
  let s: TestServer;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let a: Device;
  let alice: Reg;
  const salt = b64(32);

  beforeAll(async () => {
    const [server, sdk] = await Promise.all([startTestServer('sqlite'), bundleSdk()]);
    s = server;
    servePage(s.app, sdk);
    await s.listen();
    browser = await launchChromium();
    context = await browser.newContext();
    a = await openDevice(context, s.origin);
  });
  afterAll(async () => {
    await browser?.close();
    await s.close();
  });

  test('register, then sign in with and without a username: the PRF output is the same every time, and differs per salt', async () => {
    alice = await inPage(
      a,
      async ({ salt }) => {
        const c = (globalThis as unknown as { coffer: PageSdk }).coffer;
        const api = new c.CofferApi({ baseUrl: location.origin });
        const r = await c.createAccountWithPasskey(api, { username: 'alice', prfSalt: c.fromBase64Url(salt), timeoutMs: 15_000 });
        return { accountId: r.accountId, passkeyId: r.passkey.id, prf: r.prfOutput ? c.toBase64Url(r.prfOutput) : null, prfEnabled: r.prfEnabled };
      },
      { salt },
    );
    expect(alice.prfEnabled).toBe(true);
    expect(Buffer.from(alice.prf ?? '', 'base64url')).toHaveLength(32);
    const stored = await s.database.db.one<{ alg: number; account_id: string }>('SELECT alg, account_id FROM passkeys WHERE id = ?', [alice.passkeyId]);
    expect(stored).toEqual({ alg: -7, account_id: alice.accountId });

    const outputs = await inPage(
      a,
      async ({ salt, other }) => {
        const c = (globalThis as unknown as { coffer: PageSdk }).coffer;
        const api = new c.CofferApi({ baseUrl: location.origin });
        const session = await c.getSession(api); // the httpOnly cookie from the registration
        await c.signOut(api);
        const named = await c.signInWithPasskey(api, { username: 'alice', prfSalt: c.fromBase64Url(salt), timeoutMs: 15_000 });
        const discoverable = await c.signInWithPasskey(api, { prfSalt: c.fromBase64Url(salt), timeoutMs: 15_000 });
        const otherSalt = await c.signInWithPasskey(api, { prfSalt: c.fromBase64Url(other), timeoutMs: 15_000 });
        const noPrf = await c.signInWithPasskey(api, { timeoutMs: 15_000 });
        const enc = (x: Uint8Array | undefined) => (x ? c.toBase64Url(x) : null);
        return {
          sessionAccount: session.accountId,
          accounts: [named.accountId, discoverable.accountId],
          prfs: [enc(named.prfOutput), enc(discoverable.prfOutput)],
          other: enc(otherSalt.prfOutput),
          noPrf: enc(noPrf.prfOutput),
          cookieVisible: document.cookie.includes('coffer_session'),
        };
      },
      { salt, other: b64(32) },
    );
    expect(outputs.sessionAccount).toBe(alice.accountId);
    expect(outputs.accounts).toEqual([alice.accountId, alice.accountId]);
    expect(outputs.prfs).toEqual([alice.prf, alice.prf]);
    expect(outputs.other).not.toBeNull();
    expect(outputs.other).not.toBe(alice.prf);
    expect(outputs.noPrf).toBeNull();
    expect(outputs.cookieVisible).toBe(false); // httpOnly
    const counter = await s.database.db.one<{ counter: number; last_used_at: number }>('SELECT counter, last_used_at FROM passkeys WHERE id = ?', [alice.passkeyId]);
    expect(counter?.counter).toBeGreaterThanOrEqual(4);
    // No PRF output ever left the page.
    const posted = a.posted.join('\n');
    expect(posted).not.toContain(alice.prf);
    expect(posted).not.toContain(outputs.other);
    expect(posted).not.toContain('"results"');
  });

  test('a hybrid slot: the share comes with a fresh assertion by its passkey, survives a wiped browser, and dies with deletion', async () => {
    const slotId = hex(16);
    const kdfSalt = b64(32);
    const prfSalt = b64(32);
    const created = await inPage(
      a,
      async ({ slotId, prfSalt, kdfSalt, credentialId }) => {
        const c = (globalThis as unknown as { coffer: PageSdk }).coffer;
        const api = new c.CofferApi({ baseUrl: location.origin });
        const secret = await c.createPasskeyShare(api, { slotId, credentialId, prfSalt: c.fromBase64Url(prfSalt), timeoutMs: 15_000 });
        const slotKey = await c.deriveSlotKey(c.hybridUnlockSecret(secret), c.fromBase64Url(kdfSalt));
        return { share: c.toBase64Url(secret.share), prf: c.toBase64Url(secret.prfOutput), slotKey: c.toBase64Url(slotKey) };
      },
      { slotId, prfSalt, kdfSalt, credentialId: alice.passkeyId },
    );
    expect(Buffer.from(created.share, 'base64url')).toHaveLength(32);
    expect(created.prf).not.toBe(alice.prf); // another salt, another PRF output

    // A "new device" keeping the synced passkey: no cookies, no storage; sign in, then release the share.
    await wipeSiteData(a, s.origin);
    const restored = await inPage(
      a,
      async ({ slotId, prfSalt, kdfSalt }) => {
        const c = (globalThis as unknown as { coffer: PageSdk }).coffer;
        const api = new c.CofferApi({ baseUrl: location.origin });
        await c.signInWithPasskey(api, { timeoutMs: 15_000 });
        const secret = await c.getPasskeyShare(api, { slotId, prfSalt: c.fromBase64Url(prfSalt), timeoutMs: 15_000 });
        const slotKey = await c.deriveSlotKey(c.hybridUnlockSecret(secret), c.fromBase64Url(kdfSalt));
        await c.deletePasskeyShare(api, slotId); // fresh step-up: the sign-in a moment ago
        const after = await c.getPasskeyShare(api, { slotId, prfSalt: c.fromBase64Url(prfSalt), timeoutMs: 15_000 }).then(
          () => 'released',
          (error: unknown) => (error as { code?: string }).code ?? 'unknown',
        );
        return { share: c.toBase64Url(secret.share), prf: c.toBase64Url(secret.prfOutput), slotKey: c.toBase64Url(slotKey), after };
      },
      { slotId, prfSalt, kdfSalt },
    );
    expect(restored).toEqual({ ...created, after: 'E_NOT_FOUND' });
    expect(a.posted.join('\n')).not.toContain(created.prf);
  });

  test("a share is never released for another credential's assertion, nor for a stale one", async () => {
    // A second tab in the same browser session, with its own authenticator: a second passkey of Alice's.
    const b = await openDevice(context, s.origin);
    const second = await inPage(
      b,
      async () => {
        const c = (globalThis as unknown as { coffer: PageSdk }).coffer;
        const api = new c.CofferApi({ baseUrl: location.origin });
        return (await c.addPasskey(api, { name: 'Second device', timeoutMs: 15_000 })).passkey.id;
      },
      undefined,
    );
    expect(second).not.toBe(alice.passkeyId);
    const slotId = hex(16);
    const prfSalt = b64(32);
    await inPage(
      a,
      async ({ slotId, prfSalt, credentialId }) => {
        const c = (globalThis as unknown as { coffer: PageSdk }).coffer;
        await c.createPasskeyShare(new c.CofferApi({ baseUrl: location.origin }), { slotId, credentialId, prfSalt: c.fromBase64Url(prfSalt), timeoutMs: 15_000 });
      },
      { slotId, prfSalt, credentialId: alice.passkeyId },
    );

    /** Gets release options, answers them with whatever passkey this tab has, and posts the answer (twice when asked). */
    const attempt = ({ slotId, purpose, replay }: { slotId: string; purpose: 'release' | 'sign-in'; replay: boolean }) =>
      (async () => {
        const c = (globalThis as unknown as { coffer: PageSdk }).coffer;
        const post = async (path: string, body?: unknown) => {
          const init: RequestInit = { method: 'POST', credentials: 'same-origin' };
          if (body !== undefined) Object.assign(init, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
          const res = await fetch(`/api/v1${path}`, init);
          return { status: res.status, body: (await res.json()) as { options?: Parameters<typeof c.startAuthentication>[0]['optionsJSON']; share?: string; error?: { code: string } } };
        };
        const { body } = purpose === 'release' ? await post(`/passkeys/shares/${slotId}/release/options`) : await post('/passkeys/sign-in/options', {});
        if (!body.options) throw new Error('no options');
        // Any credential of this tab's authenticator may answer (an empty allow list).
        const optionsJSON = { ...body.options, allowCredentials: [] };
        const timeout = new Promise<never>((_r, reject) => setTimeout(() => { reject(new Error('WebAuthn timed out')); }, 15_000));
        const raw = await Promise.race([c.startAuthentication({ optionsJSON }), timeout]);
        const { response } = c.stripPrf(raw);
        const first = await post(`/passkeys/shares/${slotId}/release/verify`, { response });
        const again = replay ? await post(`/passkeys/shares/${slotId}/release/verify`, { response }) : undefined;
        const summary = (r: { status: number; body: { share?: string; error?: { code: string } } }) => ({ status: r.status, code: r.body.error?.code ?? null, hasShare: r.body.share !== undefined });
        return { first: summary(first), again: again && summary(again), credentialId: response.id };
      })();

    const released = await s.database.db.one<{ last_released_at: number }>('SELECT last_released_at FROM passkey_shares WHERE slot_id = ?', [slotId]);
    // Tab B's passkey (same account) answers the slot's challenge: refused, nothing released.
    const wrong = await inPage(b, attempt, { slotId, purpose: 'release', replay: false });
    expect(wrong.credentialId).toBe(second);
    expect(wrong.first).toEqual({ status: 403, code: 'E_FORBIDDEN', hasShare: false });
    // A sign-in assertion (another ceremony's challenge) is stale for a share: refused.
    const signInAssertion = await inPage(a, attempt, { slotId, purpose: 'sign-in', replay: false });
    expect(signInAssertion.first).toEqual({ status: 400, code: 'E_CHALLENGE', hasShare: false });
    expect(await s.database.db.one('SELECT last_released_at FROM passkey_shares WHERE slot_id = ?', [slotId])).toEqual(released);
    // The slot's own passkey gets the share once; replaying that assertion gets nothing.
    const right = await inPage(a, attempt, { slotId, purpose: 'release', replay: true });
    expect(right.credentialId).toBe(alice.passkeyId);
    expect(right.first).toEqual({ status: 200, code: null, hasShare: true });
    expect(right.again).toEqual({ status: 400, code: 'E_CHALLENGE', hasShare: false });
  });
});
