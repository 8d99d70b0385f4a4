/**
 * The `coffer:` driver: a Coffer server's append-only backup store over HTTPS
 * (`coffer -r coffer:https://host`). Isomorphic — only `fetch` — so the
 * browser app and the CLI use the same code. The session is a bearer token.
 *
 * The server never overwrites: `put` of an existing name is E_STORAGE_EXISTS,
 * and deleting anything but a lock needs a fresh step-up on the session (the
 * server answers E_STEP_UP_REQUIRED, which escapes unchanged so the caller can
 * ask the user to confirm with a passkey and retry). Deleted objects stay
 * restorable on the server for its retention window.
 */
import { CofferError, ERROR_CATALOG, fail, type CofferErrorCode } from '@coffer/core';
import { equalBytes } from './bytes.ts';
import { httpFailure, unexpectedFetchFailure } from './http-status.ts';
import { assertBody, assertExpectedVersion, assertName, assertPrefix, assertRange } from './names.ts';
import { TransientError, withClassifiedRetry, type RetryOptions } from './retry.ts';
import type { ByteRange, Storage, StoredObject, VersionedObject } from './storage.ts';

export interface CofferStorageOptions {
  /** The server's origin, e.g. https://backup.example.com */
  readonly url: string;
  /** A bearer token from `coffer login` (or the SDK's sign-in). */
  readonly token: string;
  /** For the account's security log, e.g. "coffer CLI on linux". */
  readonly device?: string;
  readonly fetch?: typeof fetch;
  readonly retry?: RetryOptions;
  readonly requestTimeoutMs?: number;
  /**
   * Called when the server wants a fresh step-up before a delete; when it
   * resolves (the caller proved an unlock method to the server, e.g. by
   * signing with the recovery key), the delete is tried once more.
   */
  readonly onStepUpRequired?: () => Promise<void>;
}

/** Error codes the server may answer with that keep their meaning for the engine. */
const PASS_THROUGH: ReadonlySet<CofferErrorCode> = new Set([
  'E_STORAGE_EXISTS',
  'E_STORAGE_NOT_FOUND',
  'E_STORAGE_FULL',
  'E_STORAGE_PRECONDITION',
  'E_STEP_UP_REQUIRED',
  'E_TOO_LARGE',
  'E_INVALID_ARGUMENT',
]);

export class CofferStorage implements Storage {
  readonly location: string;
  readonly #base: string;
  readonly #token: string;
  readonly #device: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #retry: RetryOptions;
  readonly #timeoutMs: number;
  readonly #onStepUpRequired: (() => Promise<void>) | undefined;

  constructor(options: CofferStorageOptions) {
    const url = new URL(options.url);
    if (url.username !== '' || url.password !== '') fail('E_INVALID_ARGUMENT', 'a coffer: URL carries no credentials; sign in with `coffer login`');
    if (url.protocol !== 'https:' && url.protocol !== 'http:') fail('E_INVALID_ARGUMENT', 'a coffer: URL is coffer:https://host[:port]');
    this.#base = `${url.origin}/api/v1/store`;
    this.location = `coffer:${url.origin}`;
    this.#token = options.token;
    this.#device = options.device;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#retry = options.retry ?? {};
    this.#timeoutMs = options.requestTimeoutMs ?? 300_000;
    this.#onStepUpRequired = options.onStepUpRequired;
  }

  async put(name: string, body: Uint8Array): Promise<void> {
    assertName(name);
    assertBody(body);
    await this.#call(`put ${name}`, async (attempt) => {
      const response = await this.#send(`put ${name}`, 'PUT', `/objects/${name}`, { body, headers: { 'content-type': 'application/octet-stream' } });
      if (response.status === 201) return drain(response);
      const error = await this.#failure(`put ${name}`, response);
      // A retried put may find its own earlier try's object: same bytes, same outcome.
      if (error instanceof CofferError && error.code === 'E_STORAGE_EXISTS' && attempt > 1 && (await this.#sameBytes(name, body))) return;
      throw error;
    });
  }

  async get(name: string, range?: ByteRange): Promise<Uint8Array> {
    assertName(name);
    assertRange(range);
    return this.#call(`get ${name}`, async () => {
      const headers: Record<string, string> = {};
      if (range !== undefined && range.length > 0) headers['range'] = `bytes=${String(range.offset)}-${String(range.offset + range.length - 1)}`;
      const method = range?.length === 0 ? 'HEAD' : 'GET';
      const response = await this.#send(`get ${name}`, method, `/objects/${name}`, { headers });
      if (method === 'HEAD' && response.status === 404) fail('E_STORAGE_NOT_FOUND', `storage object ${name} does not exist`);
      if (response.status === 416 || (range?.length === 0 && response.status === 200)) {
        // A range starting at or past the end: clipped, that is nothing.
        await drain(response);
        return new Uint8Array(0);
      }
      if (response.status !== 200 && response.status !== 206) throw await this.#failure(`get ${name}`, response);
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (range === undefined) return bytes;
      if (response.status === 200) return bytes.subarray(Math.min(range.offset, bytes.length), Math.min(range.offset + range.length, bytes.length));
      const start = Number(/^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1] ?? Number.NaN);
      if (start !== range.offset) fail('E_STORAGE_FAILED', `get ${name}: the server answered a range with other bytes`);
      return bytes.subarray(0, range.length);
    });
  }

  async stat(name: string): Promise<StoredObject | undefined> {
    assertName(name);
    return this.#call(`stat ${name}`, async () => {
      const response = await this.#send(`stat ${name}`, 'HEAD', `/objects/${name}`);
      await drain(response);
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw httpFailure(response.status, `stat ${name}`);
      return { name, size: Number(response.headers.get('content-length') ?? 0) };
    });
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    assertPrefix(prefix);
    let after = '';
    for (;;) {
      const query = new URLSearchParams({ prefix, after, limit: '1000' });
      const page = await this.#call(`list ${prefix}`, async () => {
        const response = await this.#send(`list ${prefix}`, 'GET', `/objects?${query.toString()}`);
        if (response.status !== 200) throw await this.#failure(`list ${prefix}`, response);
        return (await response.json()) as { objects: StoredObject[]; next?: string };
      });
      for (const object of page.objects) yield { name: object.name, size: object.size };
      if (page.next === undefined) return;
      after = page.next;
    }
  }

  async delete(name: string): Promise<void> {
    assertName(name);
    try {
      await this.#delete(name);
    } catch (error) {
      if (!(error instanceof CofferError && error.code === 'E_STEP_UP_REQUIRED') || this.#onStepUpRequired === undefined) throw error;
      await this.#onStepUpRequired();
      await this.#delete(name);
    }
  }

  async #delete(name: string): Promise<void> {
    await this.#call(`delete ${name}`, async () => {
      const response = await this.#send(`delete ${name}`, 'DELETE', `/objects/${name}`);
      if (response.status === 204 || response.status === 404) return drain(response);
      throw await this.#failure(`delete ${name}`, response);
    });
  }

  async getVersioned(name: string): Promise<VersionedObject | undefined> {
    assertName(name);
    return this.#call(`get ${name}`, async () => this.#getVersioned(name));
  }

  async swap(name: string, body: Uint8Array, expectedVersion: string | null): Promise<string> {
    assertName(name);
    assertBody(body);
    assertExpectedVersion(expectedVersion);
    return this.#call(`swap ${name}`, async (attempt) => {
      const condition: Record<string, string> = expectedVersion === null ? { 'if-none-match': '*' } : { 'if-match': `"${expectedVersion}"` };
      const response = await this.#send(`swap ${name}`, 'PUT', `/versioned/${name}`, { body, headers: { 'content-type': 'application/octet-stream', ...condition } });
      if (response.status === 200) {
        await drain(response);
        return (response.headers.get('etag') ?? '').replace(/"/g, '');
      }
      const error = await this.#failure(`swap ${name}`, response);
      if (error instanceof CofferError && error.code === 'E_STORAGE_PRECONDITION' && attempt > 1) {
        // An earlier try may have landed before its reply was lost.
        const current = await this.#getVersioned(name);
        if (current !== undefined && equalBytes(current.body, body)) return current.version;
      }
      throw error;
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  async #getVersioned(name: string): Promise<VersionedObject | undefined> {
    const response = await this.#send(`get ${name}`, 'GET', `/versioned/${name}`);
    if (response.status === 404) {
      await drain(response);
      return undefined;
    }
    if (response.status !== 200) throw await this.#failure(`get ${name}`, response);
    const version = (response.headers.get('etag') ?? '').replace(/"/g, '');
    return { body: new Uint8Array(await response.arrayBuffer()), version };
  }

  async #sameBytes(name: string, body: Uint8Array): Promise<boolean> {
    const response = await this.#send(`get ${name}`, 'GET', `/objects/${name}`);
    if (response.status !== 200) {
      await drain(response);
      return false;
    }
    return equalBytes(new Uint8Array(await response.arrayBuffer()), body);
  }

  #call<T>(what: string, op: (attempt: number) => Promise<T>): Promise<T> {
    return withClassifiedRetry(what, op, unexpectedFetchFailure, this.#retry);
  }

  /** `what` names the operation in errors; it never contains the token. */
  async #send(what: string, method: string, path: string, request: { body?: Uint8Array; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...request.headers, authorization: `Bearer ${this.#token}` };
    if (this.#device !== undefined) headers['x-coffer-device'] = this.#device;
    try {
      return await this.#fetch(`${this.#base}${path}`, {
        method,
        headers,
        ...(request.body === undefined ? {} : { body: new Uint8Array(request.body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'manual',
      });
    } catch (error) {
      throw new TransientError(`${what}: the server could not be reached (${error instanceof Error ? error.name : 'network error'})`, { cause: error });
    }
  }

  /** The server's typed error when it sent one (step-up, exists, full…), else what the status means. */
  async #failure(what: string, response: Response): Promise<Error> {
    let code: unknown;
    let message: unknown;
    try {
      ({ code, message } = ((await response.json()) as { error?: { code?: unknown; message?: unknown } }).error ?? {});
    } catch {
      // Not our JSON (a proxy's page): the status decides.
    }
    if (typeof code === 'string' && code in ERROR_CATALOG && PASS_THROUGH.has(code as CofferErrorCode)) {
      return new CofferError(code as CofferErrorCode, `${what}: ${typeof message === 'string' ? message : code}`);
    }
    if (response.status === 401) return new CofferError('E_STORAGE_DENIED', `${what}: the session has expired or was revoked; sign in again`);
    return httpFailure(response.status, what);
  }
}

async function drain(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}
