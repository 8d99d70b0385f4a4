/**
 * `coffer forget --prune` against a Coffer server with no recovery key at
 * hand (the repository unlocked with the vault password): the server asks for
 * a step-up, the CLI prints a confirmation page's address and a code and
 * waits; the page, opened in Debian's Chromium with a virtual authenticator
 * holding the account's passkey, confirms — and the prune completes. Declining
 * on the page stops the CLI with E_STEP_UP_DECLINED and deletes nothing.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CofferApi, signInWithRecoveryKey } from '../../client/src/index.ts';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';
import { bundleSdk, inPage, launchChromium, openDevice, servePage, WEBAUTHN_TIMEOUT_MS, type Device, type PageSdk } from '../../server/test/webauthn/chromium.ts';
import { type Env, type Result, baseEnv, coffer, cofferJson, collect, expectSameTree, jsonError, noise, spawnCoffer, tempDir } from './helpers.ts';

const PASSWORD = 'correct horse battery staple';

let work: { path: string; remove: () => Promise<void> };
let source: string;
let server: TestServer;
let browser: Browser | undefined;
let tab: Device;

beforeAll(async () => {
  work = await tempDir('coffer-cli-step-up-');
  source = join(work.path, 'chat');
  await mkdir(join(source, 'media'), { recursive: true });
  await writeFile(join(source, 'messages.db'), noise(1, 200_000));
  await writeFile(join(source, 'media', 'a.jpg'), noise(2, 100_000));
  const [started, sdk] = await Promise.all([startTestServer('sqlite'), bundleSdk()]);
  server = started;
  servePage(server.app, sdk);
  await server.listen();
  browser = await launchChromium();
  tab = await openDevice(await browser.newContext(), server.origin);
});

afterAll(async () => {
  await browser?.close();
  await server.close();
  await work.remove();
});

const keyFile = () => join(work.path, 'recovery.key');

function device(extra: Env = {}): Env {
  return baseEnv({
    COFFER_REPOSITORY: `coffer:${server.origin}`,
    COFFER_CONFIG_DIR: join(work.path, 'config'),
    COFFER_STATE_DIR: join(work.path, 'state'),
    ...extra,
  });
}

/** The same computer with only the password: the repository opens through the vault, and nothing can sign a step-up. */
const passwordOnly = () => device({ COFFER_PASSWORD: PASSWORD, COFFER_USERNAME: 'erin' });

/** Every session's last proof is made older than the five minutes the server accepts. */
async function ageStepUps(): Promise<void> {
  await server.database.db.run('UPDATE sessions SET step_up_at = step_up_at - 600000 WHERE step_up_at IS NOT NULL');
}

/** Runs coffer and resolves `prompt` with the page address and code as soon as it prints them on stderr. */
function runUntilPrompt(args: readonly string[], env: Env, json: boolean): { child: ReturnType<typeof spawnCoffer>; prompt: Promise<{ url: string; code: string }>; done: Promise<Result> } {
  const child = spawnCoffer(args, env);
  const done = collect(child);
  let seen = '';
  const prompt = new Promise<{ url: string; code: string }>((resolve, reject) => {
    child.stderr?.on('data', (chunk: string) => {
      seen += chunk;
      if (json) {
        const line = seen.split('\n').find((l) => l.startsWith('{"stepUp"'));
        if (line) resolve((JSON.parse(line) as { stepUp: { url: string; code: string } }).stepUp);
        return;
      }
      const url = /(http:\/\/\S+\/confirm\/[A-Za-z0-9_-]+)/.exec(seen)?.[1];
      const code = /code:\s+([A-Z]{4}-[A-Z]{4})/.exec(seen)?.[1];
      if (url && code) resolve({ url, code });
    });
    void done.then((result) => {
      reject(new Error(`coffer exited (${String(result.code)}) without asking for a confirmation:\n${result.stderr}`));
    });
  });
  return { child, prompt, done };
}

async function openConfirmationPage(url: string): Promise<string> {
  await tab.page.goto(url);
  await tab.page.locator('#request').waitFor({ state: 'visible', timeout: WEBAUTHN_TIMEOUT_MS });
  return tab.page.locator('#code').innerText();
}

async function statusOnPage(state: string): Promise<string> {
  await tab.page.locator(`#status[data-state="${state}"]`).waitFor({ timeout: WEBAUTHN_TIMEOUT_MS });
  return tab.page.locator('#status').innerText();
}

async function snapshotCount(): Promise<number> {
  const listed = await cofferJson<{ snapshots: unknown[] }>(['snapshots'], device({ COFFER_RECOVERY_KEY_FILE: keyFile() }));
  return listed.json.snapshots.length;
}

describe('step-up confirmed with a passkey in a browser', () => {
  test('setup: a server repository with a password slot, and a passkey on the account in the browser', async () => {
    const withKey = device({ COFFER_RECOVERY_KEY_FILE: keyFile() });
    expect((await coffer(['init', '--username', 'erin', '--write-recovery-key', keyFile()], withKey)).code).toBe(0);
    expect((await coffer(['backup', source], withKey)).code).toBe(0);
    const added = await coffer(['key', 'add', '--password'], { ...withKey, COFFER_PASSWORD: PASSWORD });
    expect(added.code, added.stderr).toBe(0);
    // The passkey is added from the browser tab on a fresh recovery-key session (a step-up in itself).
    const api = new CofferApi({ baseUrl: server.origin, sessionKind: 'bearer', device: 'test' });
    // The key file `init` wrote: comment lines, then the key.
    const keyText = (await readFile(keyFile(), 'utf8')).split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')).join('');
    await signInWithRecoveryKey(api, { recoveryKey: keyText });
    const passkeyId = await inPage(
      tab,
      async ({ token }) => {
        const c = (globalThis as unknown as { coffer: PageSdk }).coffer;
        const pageApi = new c.CofferApi({ baseUrl: location.origin, token, sessionKind: 'bearer' });
        return (await c.addPasskey(pageApi, { name: 'Phone', timeoutMs: 15_000 })).passkey.id;
      },
      { token: api.token ?? '' },
    );
    expect(passkeyId).not.toBe('');
  });

  test('forget --prune with only the password prints a page and a code, waits, and completes once the page is confirmed', async () => {
    await writeFile(join(source, 'media', 'a.jpg'), noise(3, 100_000));
    expect((await coffer(['backup', source], passwordOnly())).code).toBe(0);
    expect(await snapshotCount()).toBe(2);
    await ageStepUps();

    const run = runUntilPrompt(['forget', '--keep-last', '1', '--prune'], passwordOnly(), false);
    const { url, code } = await run.prompt;
    expect(url.startsWith(`${server.origin}/confirm/`)).toBe(true);
    // The page shows the same code the terminal does: that is how the user knows it is their request.
    expect(await openConfirmationPage(url)).toBe(code);
    expect(await tab.page.locator('#action').innerText()).toContain('prune');
    await tab.page.locator('#confirm').click();
    expect(await statusOnPage('done')).toContain('Confirmed');

    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('Waiting for your confirmation');
    expect(await snapshotCount()).toBe(1);
    const events = await server.database.db.all<{ type: string; detail: string }>("SELECT type, detail FROM security_events WHERE type LIKE 'step-up%' ORDER BY id");
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['step-up-requested', 'step-up']));
    expect(events.some((e) => e.type === 'step-up' && e.detail.includes('confirmation-page'))).toBe(true);

    const target = join(work.path, 'restored');
    expect((await coffer(['restore', 'latest', '--target', target], passwordOnly())).code).toBe(0);
    expect(await expectSameTree(source, join(target, 'chat'))).toBe(2);
  });

  test('"This wasn\'t me" on the page stops the CLI with E_STEP_UP_DECLINED, and nothing is deleted', async () => {
    await writeFile(join(source, 'media', 'b.jpg'), noise(4, 50_000));
    expect((await coffer(['backup', source], passwordOnly())).code).toBe(0);
    expect(await snapshotCount()).toBe(2);
    await ageStepUps();

    const run = runUntilPrompt(['--json', 'forget', '--keep-last', '1', '--prune'], passwordOnly(), true);
    const { url, code } = await run.prompt;
    expect(await openConfirmationPage(url)).toBe(code);
    await tab.page.locator('#deny').click();
    expect(await statusOnPage('denied')).toContain('Declined');

    const result = await run.done;
    expect(result.code).toBe(1);
    expect(jsonError(result).code).toBe('E_STEP_UP_DECLINED');
    expect(result.stdout).toBe('');
    expect(await snapshotCount()).toBe(2);
    // A decided request cannot be confirmed afterwards.
    await tab.page.reload();
    expect(await statusOnPage('denied')).toContain('Declined');
    expect(await tab.page.locator('#request').isHidden()).toBe(true);
  });

  test('Ctrl-C while waiting withdraws the request: the page then has nothing to confirm', async () => {
    await ageStepUps();
    const run = runUntilPrompt(['forget', '--keep-last', '1', '--prune'], passwordOnly(), false);
    const { url } = await run.prompt;
    run.child.kill('SIGINT');
    expect((await run.done).code).toBe(130);
    await tab.page.goto(url);
    expect(await statusOnPage('denied')).toContain('stopped waiting');
    expect(await snapshotCount()).toBe(2);
  });
});
