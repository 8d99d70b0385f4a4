/* global document, location, fetch, SimpleWebAuthnBrowser */
/**
 * The step-up confirmation page (page.ts): shows the request, and on
 * "Confirm" runs one passkey assertion with @simplewebauthn/browser and posts
 * it. Plain JavaScript served as is — a few dozen lines do not justify a
 * build step. Text from the server is set with textContent, never as HTML.
 */
const id = decodeURIComponent(location.pathname.split('/').pop() ?? '');
const api = `/api/v1/step-up-requests/${encodeURIComponent(id)}`;
const $ = (name) => document.getElementById(name);

function show(message, state = '') {
  $('status').textContent = message;
  $('status').dataset.state = state;
}

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(json.error?.message ?? `The server answered ${response.status}.`), { code: json.error?.code });
  return json;
}

const OUTCOME = {
  approved: ['Confirmed. You can close this page and go back to your device.', 'done'],
  denied: ['Declined. The device that asked was told no. If it was not you, sign that device out in your account’s sessions.', 'denied'],
  cancelled: ['The device that asked has stopped waiting: there is nothing to confirm.', 'denied'],
  expired: ['This request has expired. Ask again from your device if you still need to.', 'denied'],
};

function render(request) {
  $('account').textContent = request.account.username ?? request.account.displayName;
  $('action').textContent = request.action;
  $('code').textContent = request.code;
  $('device').textContent = request.device;
  $('address').textContent = request.clientAddress;
  $('created').textContent = new Date(request.createdAt).toLocaleString();
  $('request').hidden = request.status !== 'pending';
  if (request.status === 'pending') show('Check the code, then confirm.');
  else show(...OUTCOME[request.status]);
}

function busy(on) {
  $('confirm').disabled = on;
  $('deny').disabled = on;
}

async function confirm() {
  busy(true);
  show('Waiting for your passkey…');
  try {
    const { options } = await call('POST', `${api}/options`);
    const response = await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: options });
    render(await call('POST', `${api}/approve`, { response }));
  } catch (error) {
    // A cancelled prompt (NotAllowedError) leaves the request pending: the user may try again.
    show(error.name === 'NotAllowedError' ? 'The passkey prompt was cancelled or timed out. Try again.' : error.message, 'error');
    busy(false);
  }
}

async function deny() {
  busy(true);
  try {
    render(await call('POST', `${api}/deny`));
  } catch (error) {
    show(error.message, 'error');
    busy(false);
  }
}

$('confirm').addEventListener('click', () => void confirm());
$('deny').addEventListener('click', () => void deny());
call('GET', api).then(render, (error) => {
  show(error.code === 'E_NOT_FOUND' ? 'There is no such request. Check the address your device printed.' : error.message, 'error');
});
