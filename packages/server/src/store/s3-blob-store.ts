import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { withClassifiedRetry } from '@coffer/engine';
import { s3ErrorInfo, s3Failure } from '@coffer/engine/s3';
import { BodyLengthError, type BlobStore } from './blob-store.ts';
import { countBytes } from './count-bytes.ts';

export interface S3BlobStoreOptions {
  readonly bucket: string;
  readonly prefix: string;
  /** An S3-compatible endpoint (MinIO, Ceph, R2, s3rver); AWS itself when absent. */
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
  /** Where uploads are spooled before they go to S3 (default: the OS temp directory). */
  readonly spoolDir?: string | undefined;
}

/**
 * Bodies in an S3-compatible bucket. An upload is first spooled to a local
 * temp file (streamed, so memory stays bounded): that lets a transient S3
 * failure (5xx, reset, timeout) be retried from the file without asking the
 * client to send again, and a single PutObject makes the blob visible whole or
 * not at all. Reads stream S3's ranged GET straight through.
 */
export class S3BlobStore implements BlobStore {
  readonly location: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #spoolDir: string;

  constructor(options: S3BlobStoreOptions) {
    this.#bucket = options.bucket;
    this.#prefix = options.prefix === '' || options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
    this.#spoolDir = options.spoolDir ?? join(tmpdir(), 'coffer-server-spool');
    const region = options.region ?? (options.endpoint === undefined ? undefined : 'us-east-1');
    this.#client = new S3Client({
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint, forcePathStyle: true }),
      ...(region === undefined ? {} : { region }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      maxAttempts: 1,
      // See the engine's S3 driver: compatible servers do not all understand aws-chunked trailers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { requestTimeout: 300_000, connectionTimeout: 10_000 },
    });
    this.location = `s3:${options.endpoint ?? 'https://s3.amazonaws.com'}/${options.bucket}/${this.#prefix}`;
  }

  #key(key: string): string {
    if (!/^[0-9a-f]{32}$/.test(key)) throw new Error('blob keys are 32 hex digits');
    return `${this.#prefix}${key.slice(0, 2)}/${key}`;
  }

  async write(key: string, body: Readable, size: number): Promise<void> {
    await mkdir(this.#spoolDir, { recursive: true });
    const spool = join(this.#spoolDir, `${key}.${randomBytes(6).toString('hex')}`);
    try {
      await pipeline(body, countBytes(size), createWriteStream(spool, { flags: 'wx', highWaterMark: 1024 * 1024 }));
      if ((await stat(spool)).size !== size) throw new BodyLengthError('the spooled body has the wrong length');
      await this.#retry(`put blob ${key}`, () =>
        this.#client.send(
          new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Body: createReadStream(spool, { highWaterMark: 1024 * 1024 }), ContentLength: size }),
        ),
      );
    } finally {
      await rm(spool, { force: true });
    }
  }

  async read(key: string, range?: { offset: number; length: number }): Promise<Readable> {
    if (range !== undefined && range.length === 0) return Readable.from([]);
    const response = await this.#retry(`get blob ${key}`, () =>
      this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key(key),
          ...(range === undefined ? {} : { Range: `bytes=${String(range.offset)}-${String(range.offset + range.length - 1)}` }),
        }),
      ),
    );
    if (!(response.Body instanceof Readable)) throw new Error('the S3 client returned no body stream');
    return response.Body;
  }

  async remove(key: string): Promise<void> {
    await this.#retry(`delete blob ${key}`, async () => {
      try {
        await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
      } catch (error) {
        if (s3ErrorInfo(error).status !== 404) throw error;
      }
    });
  }

  close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }

  #retry<T>(what: string, op: () => Promise<T>): Promise<T> {
    return withClassifiedRetry(what, op, s3Failure);
  }
}

/** `s3://bucket/prefix` (COFFER_BLOB_STORE) into bucket and prefix. */
export function parseBlobStoreUrl(text: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(text);
  if (!match?.[1]) throw new Error('COFFER_BLOB_STORE must look like s3://bucket or s3://bucket/prefix');
  return { bucket: match[1], prefix: (match[2] ?? '').replace(/^\/+|\/+$/g, '') };
}
