/**
 * Storage on an S3-compatible service through AWS SDK v3 (design decision 4).
 * Object `name` is the key `<prefix>/<name>`.
 *
 * Create-only put and swap use conditional writes (`If-None-Match: *`,
 * `If-Match: <etag>`), which AWS S3 and most compatible servers honour. Some
 * servers (s3rver among them) accept the headers and ignore them, so the
 * driver probes once, before its first write, with a throw-away key. Where a
 * header is ignored it falls back to HEAD, then PUT, and these guarantees
 * weaken:
 * - put: two writers racing on one name can both succeed; the object is then
 *   one of the two bodies, whole (a PUT is atomic), and the other writer was
 *   not told. Harmless for content-addressed names (same name, same bytes);
 *   a lost write for any other name.
 * - swap: two swaps racing from one version can both succeed; the last one
 *   wins and the other's update is lost.
 * Everything else in the contract holds on such servers too.
 *
 * The version token is the ETag, which the server compares for If-Match.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { fail, toHex } from '@coffer/core';
import { equalBytes } from './bytes.ts';
import { assertBody, assertExpectedVersion, assertName, assertPrefix, assertRange, isValidName } from './names.ts';
import { TransientError, withClassifiedRetry, type RetryOptions } from './retry.ts';
import { s3ErrorInfo, s3Failure } from './s3-errors.ts';
import type { ByteRange, Storage, StoredObject, VersionedObject } from './storage.ts';

export interface ConditionalWrites {
  /** The server refuses `If-None-Match: *` on an existing key (412). */
  readonly create: boolean;
  /** The server refuses `If-Match` with another ETag (412). */
  readonly replace: boolean;
}

export interface S3StorageOptions {
  readonly bucket: string;
  /** Key prefix without leading or trailing `/` (default: the bucket's root). */
  readonly prefix?: string;
  /** Another S3-compatible service: `https://host:port`. */
  readonly endpoint?: string;
  /** Default: the SDK's chain (AWS_REGION, profile); us-east-1 with a custom endpoint. */
  readonly region?: string;
  readonly forcePathStyle?: boolean;
  /** Default: the SDK's default chain (AWS_ACCESS_KEY_ID…, profiles, instance roles). */
  readonly credentials?: S3ClientConfig['credentials'];
  readonly retry?: RetryOptions;
  /** Skip the probe when the server's behaviour is known. */
  readonly conditionalWrites?: ConditionalWrites;
  /** Per-request timeout in ms (default 120,000). */
  readonly requestTimeoutMs?: number;
  /** Keys per ListObjectsV2 page, 1–1,000 (default 1,000; tests use less to cross pages cheaply). */
  readonly listPageSize?: number;
}


export class S3Storage implements Storage {
  readonly location: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #keyPrefix: string;
  readonly #retry: RetryOptions;
  readonly #pageSize: number;
  #probe: Promise<ConditionalWrites> | undefined;

  constructor(options: S3StorageOptions) {
    const prefix = options.prefix ?? '';
    if (prefix !== '' && !isValidName(prefix)) fail('E_INVALID_ARGUMENT', 'an S3 key prefix is made of [a-z0-9._-] segments separated by /');
    this.#bucket = options.bucket;
    this.#keyPrefix = prefix === '' ? '' : `${prefix}/`;
    this.#retry = options.retry ?? {};
    this.#pageSize = options.listPageSize ?? 1000;
    if (!Number.isInteger(this.#pageSize) || this.#pageSize < 1 || this.#pageSize > 1000) {
      fail('E_INVALID_ARGUMENT', 'listPageSize must be an integer from 1 to 1,000');
    }
    if (options.conditionalWrites !== undefined) this.#probe = Promise.resolve(options.conditionalWrites);
    const region = options.region ?? (options.endpoint === undefined ? undefined : 'us-east-1');
    this.#client = new S3Client({
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(region === undefined ? {} : { region }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      maxAttempts: 1,
      // Only checksums S3 demands: the newer default (CRC32 trailers, aws-chunked
      // bodies) is not understood by every compatible server, and s3rver stores
      // the framing as data. Coffer's objects carry their own authentication.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { requestTimeout: options.requestTimeoutMs ?? 120_000, connectionTimeout: 10_000 },
    });
    const where = options.endpoint ?? 'https://s3.amazonaws.com';
    this.location = `s3:${where}/${this.#bucket}${prefix === '' ? '' : `/${prefix}`}`;
  }

  /** What the server does with conditional headers (probed once, before the first write). */
  conditionalWrites(): Promise<ConditionalWrites> {
    this.#probe ??= this.#runProbe().catch((error: unknown) => {
      this.#probe = undefined;
      throw error;
    });
    return this.#probe;
  }

  async put(name: string, body: Uint8Array): Promise<void> {
    assertName(name);
    assertBody(body);
    const { create } = await this.conditionalWrites();
    await this.#call(`put ${name}`, async (attempt) => {
      if (await this.#create(name, body, create)) return;
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
      const wanted = range === undefined ? undefined : `bytes=${String(range.offset)}-${String(range.offset + range.length - 1)}`;
      try {
        const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(name), Range: wanted }));
        const bytes = (await response.Body?.transformToByteArray()) ?? new Uint8Array(0);
        if (response.ContentLength !== undefined && bytes.length !== response.ContentLength) {
          throw new TransientError(`get ${name}: the body ended after ${String(bytes.length)} of ${String(response.ContentLength)} bytes`);
        }
        return range === undefined ? bytes : this.#cut(name, bytes, response.ContentRange, range);
      } catch (error) {
        const { status } = s3ErrorInfo(error);
        if (status === 404) fail('E_STORAGE_NOT_FOUND', `storage object ${name} does not exist`);
        // 416: the range starts at or past the end; clipped, that is nothing.
        if (status === 416) return this.#emptyIfExists(name);
        throw error;
      }
    });
  }

  /**
   * The asked-for bytes out of a range reply. Servers do not all answer a
   * range exactly: one that ignores Range sends the whole object (200, no
   * Content-Range), and s3rver 3.7.1 reads `bytes=0-0` as "from 0 to the
   * end". Content-Range says where the bytes start; the rest is cut here.
   */
  #cut(name: string, bytes: Uint8Array, contentRange: string | undefined, range: ByteRange): Uint8Array {
    const start = contentRange === undefined ? 0 : Number(/^bytes (\d+)-/.exec(contentRange)?.[1] ?? Number.NaN);
    if (!(start <= range.offset)) fail('E_STORAGE_FAILED', `get ${name}: the server answered a range with other bytes (${contentRange ?? 'whole object'})`);
    const from = range.offset - start;
    return bytes.subarray(Math.min(from, bytes.length), Math.min(from + range.length, bytes.length));
  }

  async stat(name: string): Promise<StoredObject | undefined> {
    assertName(name);
    return this.#call(`stat ${name}`, async () => {
      const head = await this.#head(name);
      return head === undefined ? undefined : { name, size: head.size };
    });
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    assertPrefix(prefix);
    let token: string | undefined;
    do {
      // Each page is its own retried request, so a retry never repeats objects already yielded.
      const page = await this.#call(`list ${prefix}`, () =>
        this.#client.send(
          new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#key(prefix), ContinuationToken: token, MaxKeys: this.#pageSize }),
        ),
      );
      for (const entry of page.Contents ?? []) {
        const name = entry.Key?.slice(this.#keyPrefix.length);
        // Keys that are not object names (the probe's, other tools') are not Coffer's.
        if (name !== undefined && isValidName(name) && entry.Key?.startsWith(this.#keyPrefix)) yield { name, size: entry.Size ?? 0 };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(name: string): Promise<void> {
    assertName(name);
    await this.#call(`delete ${name}`, async () => {
      try {
        await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(name) }));
      } catch (error) {
        // S3 answers 204 for a missing key; some compatible servers say 404.
        if (s3ErrorInfo(error).status !== 404) throw error;
      }
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
    const { create, replace } = await this.conditionalWrites();
    return this.#call(`swap ${name}`, async (attempt) => {
      let version: string | undefined;
      if (expectedVersion === null) {
        version = await this.#create(name, body, create);
      } else if (replace) {
        version = await this.#conditionalPut(name, body, { IfMatch: expectedVersion });
      } else {
        // Fallback (see the top of the file): check, then write; a racing swap can slip in between.
        const head = await this.#head(name);
        version = head?.etag === expectedVersion ? await this.#put(name, body) : undefined;
      }
      if (version !== undefined) return version;
      // A retried swap whose earlier try landed finds its own bytes.
      if (attempt > 1) {
        const current = await this.#getVersioned(name);
        if (current !== undefined && equalBytes(current.body, body)) return current.version;
      }
      return fail('E_STORAGE_PRECONDITION', `storage object ${name} is not at the expected version`);
    });
  }

  async close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }

  #key(name: string): string {
    return this.#keyPrefix + name;
  }

  #call<T>(what: string, op: (attempt: number) => Promise<T>): Promise<T> {
    return withClassifiedRetry(what, op, s3Failure, this.#retry);
  }

  /** Creates the key unless it exists; the new ETag, or undefined when it existed. */
  async #create(name: string, body: Uint8Array, conditional: boolean): Promise<string | undefined> {
    if (conditional) return this.#conditionalPut(name, body, { IfNoneMatch: '*' });
    // Fallback (see the top of the file): check, then write.
    if ((await this.#head(name)) !== undefined) return undefined;
    return this.#put(name, body);
  }

  /** A PUT with a precondition; undefined when the server refused it (412, or 404 for If-Match on a missing key). */
  async #conditionalPut(name: string, body: Uint8Array, condition: { IfNoneMatch: '*' } | { IfMatch: string }): Promise<string | undefined> {
    try {
      return await this.#put(name, body, condition);
    } catch (error) {
      const { status } = s3ErrorInfo(error);
      if (status === 412 || (status === 404 && 'IfMatch' in condition)) return undefined;
      throw error;
    }
  }

  async #put(name: string, body: Uint8Array, condition: { IfNoneMatch?: string; IfMatch?: string } = {}): Promise<string> {
    const response = await this.#client.send(
      new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(name), Body: body, ContentLength: body.length, ...condition }),
    );
    if (response.ETag !== undefined) return response.ETag;
    // Some compatible servers leave the ETag out of the PUT reply.
    const head = await this.#head(name);
    if (head?.etag === undefined) fail('E_STORAGE_FAILED', `put ${name}: the server gives no ETag, which versions need`);
    return head.etag;
  }

  async #head(name: string): Promise<{ size: number; etag: string | undefined } | undefined> {
    try {
      const response = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(name) }));
      return { size: response.ContentLength ?? 0, etag: response.ETag };
    } catch (error) {
      if (s3ErrorInfo(error).status === 404) return undefined;
      throw error;
    }
  }

  async #getVersioned(name: string): Promise<VersionedObject | undefined> {
    try {
      const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(name) }));
      const body = (await response.Body?.transformToByteArray()) ?? new Uint8Array(0);
      if (response.ETag === undefined) fail('E_STORAGE_FAILED', `getVersioned ${name}: the server gives no ETag, which versions need`);
      return { body, version: response.ETag };
    } catch (error) {
      if (s3ErrorInfo(error).status === 404) return undefined;
      throw error;
    }
  }

  async #emptyIfExists(name: string): Promise<Uint8Array> {
    if ((await this.#head(name)) === undefined) fail('E_STORAGE_NOT_FOUND', `storage object ${name} does not exist`);
    return new Uint8Array(0);
  }

  async #sameBytes(name: string, body: Uint8Array): Promise<boolean> {
    const current = await this.#getVersioned(name);
    return current !== undefined && equalBytes(current.body, body);
  }

  /**
   * Writes a throw-away key (not a valid object name, so never listed) twice
   * with `If-None-Match: *` and once with a wrong `If-Match`: a server that
   * honours the headers refuses the last two with 412.
   */
  async #runProbe(): Promise<ConditionalWrites> {
    const random = toHex(globalThis.crypto.getRandomValues(new Uint8Array(8)));
    const key = `${this.#keyPrefix}.coffer-probe~${random}`;
    const attempt = async (condition: { IfNoneMatch: '*' } | { IfMatch: string }): Promise<boolean> => {
      try {
        await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: new Uint8Array(0), ContentLength: 0, ...condition }));
        return false;
      } catch (error) {
        const { status } = s3ErrorInfo(error);
        if (status === 412) return true;
        // 400/501: the server rejects the header itself; treat it as not supported.
        if (status === 400 || status === 501) return false;
        throw error;
      }
    };
    return this.#call('probing conditional writes', async () => {
      await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: new Uint8Array(0), ContentLength: 0 }));
      try {
        const create = await attempt({ IfNoneMatch: '*' });
        const replace = await attempt({ IfMatch: '"00000000000000000000000000000000"' });
        return { create, replace };
      } finally {
        await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key })).catch(() => undefined);
      }
    });
  }
}
export { s3ErrorInfo, s3Failure } from './s3-errors.ts';
