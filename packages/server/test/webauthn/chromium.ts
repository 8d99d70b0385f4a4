import { fileURLToPath } from 'node:url';
import type * as Client from '@coffer/client';
import type { deriveSlotKey } from '@coffer/core';
import type { startAuthentication } from '@simplewebauthn/browser';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { build, type Rolldown } from 'vite';

/**
 * Real passkey ceremonies in Debian's Chromium, driven by playwright-core,
 * with a CDP virtual authenticator that supports PRF (see
 * brief/passkeys-in-tests.md). The page is served by the server under test
 * (same origin, same CSP) and loads the client SDK, bundled here from source.
 */
export const CHROMIUM = process.env['COFFER_CHROMIUM'] ?? '/usr/bin/chromium';
/** The same flags as vitest.config.ts's browser project. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Every WebAuthn call gets this long: a tab without an authenticator would otherwise wait forever. */
export const WEBAUTHN_TIMEOUT_MS = 15_000;

/** A CTAP2 platform authenticator with resident keys, user verification and PRF. */
export const PRF_AUTHENTICATOR = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  hasPrf: true,
  automaticPresenceSimulation: true,
} as const;

export const PAGE_PATH = '/__test/passkeys.html';
const SDK_PATH = '/__test/sdk.js';

/** What the page exposes as `globalThis.coffer`. */
export type PageSdk = Pick<
  typeof Client,
  | 'CofferApi'
  | 'createAccountWithPasskey'
  | 'signInWithPasskey'
  | 'stepUpWithPasskey'
  | 'addPasskey'
  | 'listPasskeys'
  | 'getSession'
  | 'signOut'
  | 'createPasskeyShare'
  | 'getPasskeyShare'
  | 'deletePasskeyShare'
  | 'hybridUnlockSecret'
  | 'stripPrf'
  | 'toBase64Url'
  | 'fromBase64Url'
> & { startAuthentication: typeof startAuthentication; deriveSlotKey: typeof deriveSlotKey };

/** A path from the repository root (this file is packages/server/test/webauthn/chromium.ts). */
const source = (path: string) => fileURLToPath(new URL(`../../../../${path}`, import.meta.url));

/** One ES module with the passkey part of the SDK, built from source (≈0.5 s): what an app would ship. */
export async function bundleSdk(): Promise<string> {
  const entry = 'virtual:coffer-passkey-test-page';
  const code = `
    import * as passkeys from ${JSON.stringify(source('packages/client/src/passkeys.ts'))};
    import { CofferApi, fromBase64Url, toBase64Url } from ${JSON.stringify(source('packages/client/src/http.ts'))};
    import { getSession, signOut } from ${JSON.stringify(source('packages/client/src/account.ts'))};
    import { deriveSlotKey } from '@coffer/core';
    import { startAuthentication } from '@simplewebauthn/browser';
    globalThis.coffer = { ...passkeys, CofferApi, fromBase64Url, toBase64Url, getSession, signOut, deriveSlotKey, startAuthentication };
  `;
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    root: source('.'),
    plugins: [{ name: 'coffer-test-entry', resolveId: (id) => (id === entry ? `\0${entry}` : null), load: (id) => (id === `\0${entry}` ? code : null) }],
    build: { write: false, minify: false, rolldownOptions: { input: entry, output: { format: 'es' } } },
  });
  const output = (Array.isArray(result) ? result[0] : result) as Rolldown.RolldownOutput;
  const chunk = output.output.find((o) => o.type === 'chunk');
  if (!chunk) throw new Error('the SDK bundle has no chunk');
  return chunk.code;
}

/** Adds the test page and the SDK bundle to the server (before it listens); the app's CSP applies to them unchanged. */
export function servePage(app: FastifyInstance, sdk: string): void {
  const html = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Coffer passkey test</title><script type="module" src="${SDK_PATH}"></script></html>`;
  app.get(PAGE_PATH, { schema: { hide: true } }, (_request, reply) => reply.type('text/html; charset=utf-8').send(html));
  app.get(SDK_PATH, { schema: { hide: true } }, (_request, reply) => reply.type('text/javascript; charset=utf-8').send(sdk));
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** A tab with its own virtual authenticator (authenticators belong to a tab), on the test page. */
export interface Device {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly cdp: CDPSession;
  readonly authenticatorId: string;
  /** Every request body the page posted, to prove no PRF output ever left it. */
  readonly posted: string[];
}

export async function openDevice(context: BrowserContext, origin: string): Promise<Device> {
  const page = await context.newPage();
  const posted: string[] = [];
  page.on('request', (request) => {
    const body = request.postData();
    if (body !== null) posted.push(body);
  });
  await page.goto(`${origin}${PAGE_PATH}`);
  await page.waitForFunction(() => 'coffer' in globalThis, undefined, { timeout: WEBAUTHN_TIMEOUT_MS });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { ...PRF_AUTHENTICATOR } });
  return { context, page, cdp, authenticatorId, posted };
}

/** "A new device" that keeps the passkey: same tab and authenticator, all site data and cookies wiped. */
export async function wipeSiteData(device: Device, origin: string): Promise<void> {
  await device.cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'all' });
  await device.context.clearCookies();
  await device.page.reload();
  await device.page.waitForFunction(() => 'coffer' in globalThis, undefined, { timeout: WEBAUTHN_TIMEOUT_MS });
}

/**
 * Runs `fn` in the page with `arg` and a deadline. `fn` is serialized into the
 * page: it may use only its argument and `globalThis.coffer`.
 */
export async function inPage<A, R>(device: Device, fn: (arg: A) => Promise<R>, arg: A): Promise<R> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`page call took longer than ${String(WEBAUTHN_TIMEOUT_MS)} ms`));
    }, WEBAUTHN_TIMEOUT_MS);
  });
  try {
    // Playwright's types unwrap handles in the argument; ours are plain JSON values.
    return await Promise.race([device.page.evaluate(fn as (arg: unknown) => Promise<R>, arg as unknown), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
