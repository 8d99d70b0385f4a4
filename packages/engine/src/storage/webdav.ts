/**
 * Storage on a WebDAV server with `fetch` (isomorphic). Debian's
 * `rclone serve webdav` puts Google Drive, OneDrive, Dropbox… behind it.
 * Object `name` is the resource `<base>/<name>`; `/` makes collections,
 * created with MKCOL as needed.
 *
 * put: PUT to a temp resource in the target collection, then MOVE it to the
 * name with `Overwrite: F` (RFC 4918 §9.9.4: 412 if the name is taken). The
 * brief asked for `PUT` with `If-None-Match: *`; rclone 1.60 ignores that
 * header (and If-Match), so the driver would have to HEAD first, leaving a
 * race between HEAD and PUT, and a plain PUT is visible while it is still
 * being written. MOVE with Overwrite: F is in every class-1 server; rclone
 * (golang.org/x/net/webdav) checks the destination and renames while holding
 * its own lock on both paths, so put is create-only and appears whole. A
 * server that checked and renamed without that lock would reopen a small
 * window between the two; that is the one place this relies on the server.
 *
 * swap: the version is the SHA-256 of the content (ETags from rclone are
 * mtime+size, too coarse for this). Creating (expected null) is a put.
 * Replacing takes a WebDAV write LOCK on the name (RFC 4918 §9.10), compares
 * under it, PUTs the new body in place presenting the lock token, then
 * UNLOCKs; the server refuses other writers (423) meanwhile, and a crashed
 * client's lock expires after `lockTimeoutSeconds`. Weaker than put: a
 * server that writes in place (rclone does) can show a reader racing the
 * swap a partly written body, so readers of the pointer must treat one that
 * does not parse or authenticate as a reason to read again. Servers without
 * LOCK (405/501) fall back to compare-then-MOVE, where two racing swaps can
 * both succeed.
 */
import { fail, toHex } from '@coffer/core';
import { contentVersion, equalBytes } from './bytes.ts';
import { httpFailure, unexpectedFetchFailure } from './http-status.ts';
import { assertBody, assertExpectedVersion, assertName, assertPrefix, assertRange, isValidName } from './names.ts';
import { withClassifiedRetry, type RetryOptions } from './retry.ts';
import type { ByteRange, Storage, StoredObject, VersionedObject } from './storage.ts';
import { DavClient, drain } from './webdav-http.ts';
import { parseMultistatus } from './webdav-xml.ts';

export interface WebDavStorageOptions {
  /** The base collection (http or https), without credentials. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly fetch?: typeof fetch;
  readonly retry?: RetryOptions;
  /** Per-request timeout in ms (default 120,000). */
  readonly requestTimeoutMs?: number;
  /** How long a swap's lock outlives a crashed client (default 60 s). */
  readonly lockTimeoutSeconds?: number;
  /** Temp resources older than this are crash leftovers that list removes (default 1 hour). */
  readonly staleTempMs?: number;
}

const PROPFIND_BODY =
  '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/></D:prop></D:propfind>';
const LOCK_BODY =
  '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>coffer swap</D:owner></D:lockinfo>';
const TEMP_MARK = '.coffer-tmp~';
/** How long a swap waits for another swap's lock before giving up (ms). */
const LOCK_WAIT_MS = 10_000;

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

export class WebDavStorage implements Storage {
  readonly location: string;
  readonly #base: URL;
  readonly #basePath: string[];
  readonly #client: DavClient;
  readonly #retry: RetryOptions;
  readonly #lockTimeoutSeconds: number;
  readonly #staleTempMs: number;
  /** Collections known to exist, so MKCOL runs once per directory. */
  readonly #collections = new Set<string>();

  constructor(options: WebDavStorageOptions) {
    const base = new URL(options.url);
    if (base.username !== '' || base.password !== '') fail('E_INVALID_ARGUMENT', 'pass WebDAV credentials as options, not in the URL');
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.#base = base;
    this.#basePath = segments(base.pathname);
    this.location = `webdav:${base.href}`;
    this.#client = new DavClient({
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    });
    this.#retry = options.retry ?? {};
    this.#lockTimeoutSeconds = options.lockTimeoutSeconds ?? 60;
    this.#staleTempMs = options.staleTempMs ?? 60 * 60 * 1000;
  }

  async put(name: string, body: Uint8Array): Promise<void> {
    assertName(name);
    assertBody(body);
    await this.#call(`put ${name}`, async (attempt) => {
      if (await this.#upload(name, body, 'F')) return;
      // A retried put may find its own earlier try's object: same bytes, same outcome.
      if (attempt > 1 && (await this.#sameBytes(name, body))) return;
      fail('E_STORAGE_EXISTS', `storage object ${name} already exists`);
    });
  }

  async get(name: string, range?: ByteRange): Promise<Uint8Array> {
    assertName(name);
    assertRange(range);
    return this.#call(`get ${name}`, async () => {
      if (range?.length === 0) return this.#emptyIfExists(name);
      const headers: Record<string, string> =
        range === undefined ? {} : { Range: `bytes=${String(range.offset)}-${String(range.offset + range.length - 1)}` };
      const response = await this.#client.send(`get ${name}`, 'GET', this.#url(name), { headers });
      if (response.status === 404 || response.status === 405 || response.status === 410) {
        await drain(response);
        fail('E_STORAGE_NOT_FOUND', `storage object ${name} does not exist`);
      }
      // 416: the range starts at or past the end; clipped, that is nothing.
      if (response.status === 416) {
        await drain(response);
        return this.#emptyIfExists(name);
      }
      if (response.status !== 200 && response.status !== 206) throw await this.#failure(`get ${name}`, response);
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (range === undefined || response.status === 200) return range === undefined ? bytes : sliceFrom(bytes, 0, range);
      const start = Number(/^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1] ?? Number.NaN);
      if (!(start <= range.offset)) fail('E_STORAGE_FAILED', `get ${name}: the server answered a range with other bytes`);
      return sliceFrom(bytes, start, range);
    });
  }

  async stat(name: string): Promise<StoredObject | undefined> {
    assertName(name);
    return this.#call(`stat ${name}`, async () => {
      const entry = await this.#propfind(`stat ${name}`, this.#url(name), '0');
      const self = entry?.[0];
      return self === undefined || self.collection ? undefined : { name, size: self.size ?? 0 };
    });
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    assertPrefix(prefix);
    // Start at the deepest collection the prefix names: `data/ab/x` reads data/ab only.
    const cut = prefix.lastIndexOf('/');
    yield* this.#walk(cut === -1 ? '' : prefix.slice(0, cut), prefix);
  }

  async delete(name: string): Promise<void> {
    assertName(name);
    await this.#call(`delete ${name}`, async () => {
      const response = await this.#client.send(`delete ${name}`, 'DELETE', this.#url(name));
      await drain(response);
      if (!response.ok && response.status !== 404) throw await this.#failure(`delete ${name}`, response);
    });
  }

  async getVersioned(name: string): Promise<VersionedObject | undefined> {
    assertName(name);
    return this.#call(`getVersioned ${name}`, () => this.#getVersioned(name));
  }

  async swap(name: string, body: Uint8Array, expectedVersion: string | null): Promise<string> {
    assertName(name);
    assertBody(body);
    assertExpectedVersion(expectedVersion);
    const newVersion = await contentVersion(body);
    return this.#call(`swap ${name}`, async (attempt) => {
      const done = expectedVersion === null ? await this.#upload(name, body, 'F') : await this.#lockedReplace(name, body, expectedVersion);
      if (done) return newVersion;
      // A retried swap whose earlier try landed finds its own bytes.
      if (attempt > 1 && (await this.#getVersioned(name))?.version === newVersion) return newVersion;
      return fail('E_STORAGE_PRECONDITION', `storage object ${name} is not at the expected version`);
    });
  }

  async close(): Promise<void> {
    // fetch keeps no state of ours that needs closing.
  }

  #url(name: string): string {
    // Names are [a-z0-9._-/] only, all safe in a URL path, and have no dot segments.
    return new URL(name, this.#base).href;
  }

  #call<T>(what: string, op: (attempt: number) => Promise<T>): Promise<T> {
    return withClassifiedRetry(what, op, unexpectedFetchFailure, this.#retry);
  }

  async #failure(what: string, response: Response): Promise<Error> {
    await drain(response);
    return httpFailure(response.status, what);
  }

  /**
   * Uploads to a temp resource beside the name, then MOVEs it there; with
   * overwrite 'F', false when the name is taken.
   */
  async #upload(name: string, body: Uint8Array, overwrite: 'F' | 'T'): Promise<boolean> {
    const cut = name.lastIndexOf('/');
    const dir = cut === -1 ? '' : name.slice(0, cut);
    const temp = `${dir === '' ? '' : `${dir}/`}${TEMP_MARK}${toHex(globalThis.crypto.getRandomValues(new Uint8Array(8)))}`;
    await this.#ensureCollections(dir);
    let response = await this.#client.send(`put ${name}`, 'PUT', this.#url(temp), { body });
    if (response.status === 409 || response.status === 404) {
      // A collection we thought was there is gone (deleted by someone else): make it again.
      await drain(response);
      this.#collections.clear();
      await this.#ensureCollections(dir);
      response = await this.#client.send(`put ${name}`, 'PUT', this.#url(temp), { body });
    }
    if (!response.ok) throw await this.#failure(`put ${name}`, response);
    await drain(response);
    let moved: Response;
    try {
      moved = await this.#client.send(`put ${name}`, 'MOVE', this.#url(temp), {
        headers: { Destination: this.#url(name), Overwrite: overwrite },
      });
      await drain(moved);
    } catch (error) {
      await this.#discard(temp);
      throw error;
    }
    if (moved.ok) return true;
    await this.#discard(temp);
    if (moved.status === 412 && overwrite === 'F') return false;
    throw httpFailure(moved.status, `put ${name}`);
  }

  /** Best effort: a temp resource left over is never listed, and list removes it once stale. */
  async #discard(temp: string): Promise<void> {
    await this.#client
      .send('discard temp', 'DELETE', this.#url(temp))
      .then(drain)
      .catch(() => undefined);
  }

  /** Replace under a WebDAV LOCK; false when the object is not at `expected`. */
  async #lockedReplace(name: string, body: Uint8Array, expected: string): Promise<boolean> {
    const lock = await this.#lock(name);
    if (lock === 'unsupported') return this.#unlockedReplace(name, body, expected);
    const ifHeader = { If: `(${lock.token})` };
    try {
      // LOCK on a missing name made an empty resource (RFC 4918 §7.3): there was no object to swap.
      if (lock.created) {
        await this.#client.send(`swap ${name}`, 'DELETE', this.#url(name), { headers: ifHeader }).then(drain);
        return false;
      }
      if ((await this.#getVersioned(name))?.version !== expected) return false;
      // In place, presenting the token: a MOVE over the name would make the
      // server delete it first, so readers would briefly find no pointer.
      const response = await this.#client.send(`swap ${name}`, 'PUT', this.#url(name), { headers: ifHeader, body });
      await drain(response);
      if (!response.ok) throw httpFailure(response.status, `swap ${name}`);
      return true;
    } finally {
      await this.#client
        .send(`swap ${name}`, 'UNLOCK', this.#url(name), { headers: { 'Lock-Token': lock.token } })
        .then(drain)
        .catch(() => undefined);
    }
  }

  /**
   * An exclusive write lock on the name. While another swap holds it (423),
   * wait with jittered backoff: a holder keeps it for one GET and one PUT.
   */
  async #lock(name: string): Promise<{ token: string; created: boolean } | 'unsupported'> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let pause = 5; ; pause = Math.min(pause * 2, 200)) {
      const response = await this.#client.send(`swap ${name}`, 'LOCK', this.#url(name), {
        headers: { 'Content-Type': 'application/xml; charset=utf-8', Depth: '0', Timeout: `Second-${String(this.#lockTimeoutSeconds)}` },
        body: LOCK_BODY,
      });
      await drain(response);
      if (response.status === 405 || response.status === 501) return 'unsupported';
      if (response.ok) {
        const token = response.headers.get('lock-token')?.trim() ?? '';
        if (token === '') fail('E_STORAGE_FAILED', `swap ${name}: the server granted a lock without a token`);
        return { token: token.startsWith('<') ? token : `<${token}>`, created: response.status === 201 };
      }
      if (response.status !== 423) throw httpFailure(response.status, `swap ${name}: LOCK`);
      if (Date.now() > deadline) fail('E_STORAGE_UNAVAILABLE', `swap ${name}: the pointer stayed locked by another writer`);
      await sleep(Math.random() * pause);
    }
  }

  /** For servers without LOCK: compare, then replace; a racing swap can slip in between. */
  async #unlockedReplace(name: string, body: Uint8Array, expected: string): Promise<boolean> {
    if ((await this.#getVersioned(name))?.version !== expected) return false;
    return this.#upload(name, body, 'T');
  }

  /** MKCOL each missing collection from the base down (and the base's own parents, the first time). */
  async #ensureCollections(dir: string): Promise<void> {
    if (!this.#collections.has('')) {
      if (!(await this.#mkcol(this.#base.href, '.'))) {
        // 409: the base's parent is missing too; make the whole base path, top down.
        for (let depth = 1; depth <= this.#basePath.length; depth++) {
          const path = `/${this.#basePath.slice(0, depth).map(encodeURIComponent).join('/')}/`;
          if (!(await this.#mkcol(new URL(path, this.#base).href, '.'))) fail('E_STORAGE_FAILED', 'mkcol .: the server refuses to make the base collection');
        }
      }
      this.#collections.add('');
    }
    const parts = dir === '' ? [] : dir.split('/');
    for (let depth = 1; depth <= parts.length; depth++) {
      const path = parts.slice(0, depth).join('/');
      if (this.#collections.has(path)) continue;
      if (!(await this.#mkcol(this.#url(`${path}/`), path))) fail('E_STORAGE_FAILED', `mkcol ${path}: the parent collection vanished`);
      this.#collections.add(path);
    }
  }

  /** true when the collection exists now; false for 409 (its parent is missing). */
  async #mkcol(url: string, what: string): Promise<boolean> {
    const response = await this.#client.send(`mkcol ${what}`, 'MKCOL', url);
    await drain(response);
    // 201 made; 405 already there (RFC 4918 §9.3.1); 301 is what some servers say for a collection without its slash.
    if (response.ok || response.status === 405 || response.status === 301) return true;
    if (response.status === 409) return false;
    throw httpFailure(response.status, `mkcol ${what}`);
  }

  async #propfind(what: string, url: string, depth: '0' | '1'): Promise<ReturnType<typeof parseMultistatus> | undefined> {
    const response = await this.#client.send(what, 'PROPFIND', url, {
      headers: { 'Content-Type': 'application/xml; charset=utf-8', Depth: depth },
      body: PROPFIND_BODY,
    });
    if (response.status === 404) {
      await drain(response);
      return undefined;
    }
    if (response.status !== 207) throw await this.#failure(what, response);
    return parseMultistatus(await response.text());
  }

  async *#walk(dir: string, prefix: string): AsyncGenerator<StoredObject> {
    const what = `list ${dir === '' ? '.' : dir}`;
    const entries = await this.#call(what, () => this.#propfind(what, dir === '' ? this.#base.href : this.#url(`${dir}/`), '1'));
    for (const entry of entries ?? []) {
      const name = this.#nameOf(entry.href);
      // The collection itself, or something outside the base: not a child.
      if (name === undefined || name === dir) continue;
      const leaf = name.slice(name.lastIndexOf('/') + 1);
      if (entry.collection) {
        const asDir = `${name}/`;
        if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) yield* this.#walk(name, prefix);
      } else if (isValidName(name)) {
        if (name.startsWith(prefix)) yield { name, size: entry.size ?? 0 };
      } else if (leaf.startsWith(TEMP_MARK) && entry.lastModified !== undefined) {
        if (Date.now() - entry.lastModified > this.#staleTempMs) {
          await this.#client.send(what, 'DELETE', this.#url(name)).then(drain).catch(() => undefined);
        }
      }
    }
  }

  /** The object name an href points at (hrefs are URL-encoded, absolute or path-only), or undefined outside the base. */
  #nameOf(href: string): string | undefined {
    let path: string[];
    try {
      path = segments(new URL(href, this.#base).pathname);
    } catch {
      return undefined;
    }
    if (path.length < this.#basePath.length || this.#basePath.some((part, i) => path[i] !== part)) return undefined;
    return path.slice(this.#basePath.length).join('/');
  }

  async #getVersioned(name: string): Promise<VersionedObject | undefined> {
    const response = await this.#client.send(`get ${name}`, 'GET', this.#url(name));
    if (response.status === 404 || response.status === 405 || response.status === 410) {
      await drain(response);
      return undefined;
    }
    if (response.status !== 200) throw await this.#failure(`get ${name}`, response);
    const body = new Uint8Array(await response.arrayBuffer());
    return { body, version: await contentVersion(body) };
  }

  async #emptyIfExists(name: string): Promise<Uint8Array> {
    const entries = await this.#propfind(`stat ${name}`, this.#url(name), '0');
    if (entries?.[0] === undefined || entries[0].collection) fail('E_STORAGE_NOT_FOUND', `storage object ${name} does not exist`);
    return new Uint8Array(0);
  }

  async #sameBytes(name: string, body: Uint8Array): Promise<boolean> {
    const current = await this.#getVersioned(name);
    return current !== undefined && equalBytes(current.body, body);
  }
}

/**
 * What escaped classification: a body cut off while being read (undici's
 * "terminated", a timeout) is worth another try; anything else is not, and
 * leaves as a CofferError rather than a raw error.
 */
/** Decoded, non-empty path segments. */
function segments(pathname: string): string[] {
  return pathname
    .split('/')
    .filter((part) => part !== '')
    .map((part) => decodeURIComponent(part));
}

/** The range's bytes out of `bytes`, which start at object offset `start`; clipped at the end. */
function sliceFrom(bytes: Uint8Array, start: number, range: ByteRange): Uint8Array {
  const from = range.offset - start;
  return bytes.subarray(Math.min(from, bytes.length), Math.min(from + range.length, bytes.length));
}
