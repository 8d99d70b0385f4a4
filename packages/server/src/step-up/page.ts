import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/**
 * The confirmation page a step-up request links to (routes.ts): plain HTML,
 * one small script and @simplewebauthn/browser's own bundle, all from this
 * origin, so the app's strict CSP (no inline script or style) applies as is.
 * The page reads the request id from its path; it never holds a session.
 */
const PAGE_PREFIX = '/confirm/';
const ASSETS = '/assets/step-up/';

export function confirmPagePath(id: string): string {
  return `${PAGE_PREFIX}${id}`;
}

const here = dirname(fileURLToPath(import.meta.url));

/** @simplewebauthn/browser's UMD bundle (it defines `SimpleWebAuthnBrowser`), found from its ES entry point. */
function webauthnBundlePath(): string {
  const entry = fileURLToPath(import.meta.resolve('@simplewebauthn/browser'));
  return join(dirname(entry), '..', 'dist', 'bundle', 'index.umd.min.js');
}

const PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Confirm with your passkey · Coffer</title>
<link rel="stylesheet" href="${ASSETS}confirm.css">
<script src="${ASSETS}simplewebauthn-browser.js"></script>
<script type="module" src="${ASSETS}confirm.js"></script>
<main>
  <h1>Confirm with your passkey</h1>
  <p id="status" role="status">Loading the request…</p>
  <section id="request" hidden>
    <p>A device signed in to your Coffer account <strong id="account"></strong> asks to
      <strong id="action"></strong>. It needs you to confirm with a passkey of this account.</p>
    <dl>
      <dt>Code</dt><dd><code id="code"></code></dd>
      <dt>Device</dt><dd id="device"></dd>
      <dt>Address</dt><dd id="address"></dd>
      <dt>Asked at</dt><dd id="created"></dd>
    </dl>
    <p class="warning">Confirm only if you started this yourself just now and your device shows the
      same code. If you did not, press “This wasn't me” — and sign that device out.</p>
    <p class="buttons">
      <button id="confirm" type="button">Confirm with passkey</button>
      <button id="deny" type="button" class="secondary">This wasn't me</button>
    </p>
  </section>
</main>
</html>
`;

/** Assets are read once, when the routes are registered: a missing one fails the start, not a user. */
export function stepUpPageRoutes(app: FastifyInstance): void {
  const assets = new Map<string, { type: string; body: string }>([
    ['confirm.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(here, 'assets', 'confirm.js'), 'utf8') }],
    ['confirm.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(here, 'assets', 'confirm.css'), 'utf8') }],
    ['simplewebauthn-browser.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(webauthnBundlePath(), 'utf8') }],
  ]);
  app.get<{ Params: { id: string } }>(`${PAGE_PREFIX}:id`, { schema: { hide: true } }, (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(PAGE),
  );
  app.get<{ Params: { name: string } }>(`${ASSETS}:name`, { schema: { hide: true } }, (request, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset) return reply.status(404).send({ error: { code: 'E_NOT_FOUND', message: 'No such asset.' } });
    return reply.type(asset.type).header('cache-control', 'public, max-age=3600').send(asset.body);
  });
}
