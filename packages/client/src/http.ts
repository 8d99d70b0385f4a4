import { CofferError, ERROR_CATALOG, type CofferErrorCode } from '@coffer/core';

/**
 * The one HTTP seam of the SDK. Works with the global `fetch` of browsers and
 * Node. In a browser the session is an httpOnly cookie the SDK never sees;
 * in Node (CLI, tests, servers) it is a bearer token kept on this object.
 * Every failure is a CofferError with a stable code: the server's code when
 * it answered, E_NETWORK when it could not be reached.
 */
export interface CofferApiOptions {
  /** The server's origin, e.g. "https://backup.example.com". */
  readonly baseUrl: string;
  /** A bearer token from an earlier sign-in (Node); omit in browsers. */
  readonly token?: string | undefined;
  /** A short description of this device for the account's security log ("Coffer CLI on linux"). */
  readonly device?: string | undefined;
  /** Which kind of session sign-ins should open: cookies in a browser, bearer tokens elsewhere. */
  readonly sessionKind?: 'cookie' | 'bearer' | undefined;
  readonly fetch?: typeof fetch | undefined;
}

export class CofferApi {
  readonly baseUrl: string;
  readonly sessionKind: 'cookie' | 'bearer';
  readonly #device: string | undefined;
  readonly #fetch: typeof fetch;
  /** The bearer token of the current session, when the session kind is "bearer". */
  token: string | undefined;

  constructor(options: CofferApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.#device = options.device;
    this.sessionKind = options.sessionKind ?? (typeof document === 'undefined' ? 'bearer' : 'cookie');
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Sends a JSON request to `/api/v1${path}` and returns the parsed JSON answer (undefined for 204). */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    if (this.#device !== undefined) headers['x-coffer-device'] = this.#device;
    let response: Response;
    try {
      response = await this.#fetch(`${this.baseUrl}/api/v1${path}`, {
        method,
        headers,
        credentials: 'same-origin',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (cause) {
      throw new CofferError('E_NETWORK', `Could not reach the Coffer server at ${this.baseUrl}.`, { cause });
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) throw errorFromResponse(response.status, parsed);
    return parsed as T;
  }
}

function errorFromResponse(status: number, body: unknown): CofferError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' && error.code in ERROR_CATALOG ? (error.code as CofferErrorCode) : status >= 500 ? 'E_SERVER' : 'E_BAD_REQUEST';
  const message = typeof error?.message === 'string' ? error.message : `The server answered ${String(status)}.`;
  return new CofferError(code, message);
}

/** base64url without padding, as the API and WebAuthn JSON use it. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new CofferError('E_FORMAT', 'Not base64url text.');
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
