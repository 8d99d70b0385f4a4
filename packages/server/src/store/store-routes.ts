import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { isValidName } from '@coffer/engine/names';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireSession, requireStepUp } from '../auth.ts';
import { clientAddress, deviceOf, type AppContext } from '../context.ts';
import { nowMs } from '../db/db.ts';
import { apiError } from '../http-errors.ts';
import { logSecurityEvent } from '../security-log/security-log.ts';
import { BodyLengthError, type BlobStore } from './blob-store.ts';
import { forget, insertLive, listDeleted, listLive, liveObject, softDelete, undelete, usedBytes, type CatalogueEntry } from './catalogue.ts';
import { parseRange } from './range.ts';

/**
 * The append-only backup store, per account. Ordinary sessions create, read
 * and list; they can never overwrite, and can delete only lock objects (which
 * hold no backup data). Deleting anything else needs a step-up and is soft:
 * the body stays restorable for the retention window, then the purge job
 * removes it. The one mutable kind of object, a versioned pointer, keeps its
 * earlier versions the same way.
 */
export interface StoreContext extends AppContext {
  readonly blobs: BlobStore;
}

/** Lock objects: the engine creates and removes them on every run; they hold no data. */
const isLock = (name: string): boolean => name.startsWith('locks/');

const nameOf = (request: FastifyRequest): string => {
  const name = (request.params as { '*': string })['*'];
  if (!isValidName(name)) apiError('E_INVALID_ARGUMENT', 'Object names are 1–255 characters of [a-z0-9._-/], without empty, "." or ".." segments.');
  return name;
};

const newBlobKey = (): string => randomBytes(16).toString('hex');

const objectParams = { type: 'object', properties: { '*': { type: 'string', maxLength: 255 } } } as const;

export function storeRoutes(app: FastifyInstance, ctx: StoreContext): void {
  // A backup is thousands of object requests: the store has its own, larger per-address budget.
  const config = { rateLimit: { max: ctx.config.storeRateLimitPerMinute, timeWindow: '1 minute' } };
  // Bodies arrive as raw streams: never buffered whole, whatever their size.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => {
    done(null, payload);
  });

  const log = (request: FastifyRequest, accountId: string, type: 'store-deleted' | 'store-restored' | 'store-replaced', detail: Record<string, string | number>) =>
    logSecurityEvent(ctx.db, { accountId, type, detail, device: deviceOf(request), clientAddress: clientAddress(request) });

  /** Streams the body into a fresh blob after the size, quota and existence checks; the caller records it. */
  async function receive(request: FastifyRequest, accountId: string): Promise<{ blobKey: string; size: number }> {
    const size = Number(request.headers['content-length']);
    if (request.headers['content-length'] === undefined || !Number.isSafeInteger(size) || size < 0) {
      apiError('E_BAD_REQUEST', 'A Content-Length header is required (chunked uploads are not accepted).');
    }
    if (size > ctx.config.storeMaxObjectBytes) apiError('E_TOO_LARGE', `Objects are limited to ${String(ctx.config.storeMaxObjectBytes)} bytes.`);
    if ((await usedBytes(ctx.db, accountId)) + size > ctx.config.storeQuotaBytes) apiError('E_STORAGE_FULL', 'The account has reached its storage quota.');
    const blobKey = newBlobKey();
    const body = (request.body ?? Readable.from([])) as IncomingMessage | Readable;
    try {
      await ctx.blobs.write(blobKey, body, size);
    } catch (error) {
      if (error instanceof BodyLengthError) apiError('E_BAD_REQUEST', error.message);
      throw error;
    }
    return { blobKey, size };
  }

  /** Records the blob as live, re-checking the quota inside the transaction; removes the blob if it loses. */
  async function commit(accountId: string, name: string, blob: { blobKey: string; size: number }, replacing?: { expected: string | null }): Promise<CatalogueEntry | undefined> {
    const now = nowMs();
    try {
      return await ctx.db.transaction(async (tx) => {
        // PostgreSQL runs READ COMMITTED: without this lock, two swaps from one version could both
        // read that version as current before either commits. The lock (per account and name)
        // makes the second wait, and its reads then see the first one's outcome. SQLite's
        // transactions are serial already.
        if (tx.dialect === 'postgres') await tx.run('SELECT pg_advisory_xact_lock(hashtext(?))', [`${accountId}/${name}`]);
        let previous: CatalogueEntry | undefined;
        if (replacing !== undefined) {
          previous = await liveObject(tx, accountId, name);
          if ((previous?.blobKey ?? null) !== replacing.expected) apiError('E_STORAGE_PRECONDITION', 'The object is not at the expected version.');
          if (previous) await softDelete(tx, accountId, name, { now, purgeAfter: now + ctx.config.storeRetentionMs, by: 'replaced' });
        }
        // The new body counts once it is on disk: quota = what the account occupies, deleted bodies included.
        if ((await usedBytes(tx, accountId)) + blob.size > ctx.config.storeQuotaBytes) apiError('E_STORAGE_FULL', 'The account has reached its storage quota.');
        if (!(await insertLive(tx, { ...blob, accountId, name, now }))) {
          apiError(replacing ? 'E_STORAGE_PRECONDITION' : 'E_STORAGE_EXISTS', replacing ? 'The object changed meanwhile.' : 'An object of that name exists; stored objects are never overwritten.');
        }
        return previous;
      });
    } catch (error) {
      await ctx.blobs.remove(blob.blobKey);
      throw error;
    }
  }

  async function send(request: FastifyRequest, reply: FastifyReply, entry: CatalogueEntry, extraHeaders: Record<string, string> = {}): Promise<FastifyReply> {
    reply.header('accept-ranges', 'bytes').header('cache-control', 'no-store').headers(extraHeaders);
    const range = parseRange(request.headers.range, entry.size);
    if (range === 'unsatisfiable') {
      return reply.status(416).header('content-range', `bytes */${String(entry.size)}`).send();
    }
    reply.type('application/octet-stream');
    if (range !== undefined) {
      reply.status(206).header('content-range', `bytes ${String(range.offset)}-${String(range.offset + range.length - 1)}/${String(entry.size)}`);
    }
    const length = range?.length ?? entry.size;
    reply.header('content-length', String(length));
    if (request.method === 'HEAD' || length === 0) return reply.send();
    const small = await ctx.blobs.readSmall?.(entry.blobKey, range ?? { offset: 0, length });
    if (small !== undefined) {
      // 'finish': the whole reply has been handed to the socket, so the buffer is free again. An
      // aborted reply never releases it: the kernel could still be reading from it.
      reply.raw.once('finish', small.release);
      return reply.send(small.bytes);
    }
    return reply.send(await ctx.blobs.read(entry.blobKey, range));
  }

  app.put('/store/objects/*', { config, schema: { summary: 'Create an object (never overwrites)', params: objectParams } }, async (request, reply) => {
    const session = await requireSession(ctx, request);
    const name = nameOf(request);
    if (await liveObject(ctx.db, session.accountId, name)) apiError('E_STORAGE_EXISTS', 'An object of that name exists; stored objects are never overwritten.');
    const blob = await receive(request, session.accountId);
    await commit(session.accountId, name, blob);
    return reply.status(201).send({ name, size: blob.size });
  });

  const readObject = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const session = await requireSession(ctx, request);
    const entry = (await liveObject(ctx.db, session.accountId, nameOf(request))) ?? apiError('E_STORAGE_NOT_FOUND', 'No such object.');
    return send(request, reply, entry);
  };
  // Declared before the GET so Fastify does not derive its own HEAD, which would report a length of 0.
  app.head('/store/objects/*', { config, schema: { summary: "An object's size (Content-Length)", params: objectParams } }, readObject);
  app.get('/store/objects/*', { config, schema: { summary: 'Read an object, whole or a byte range (Range: bytes=a-b)', params: objectParams } }, readObject);

  app.delete('/store/objects/*', { config, schema: { summary: 'Delete an object: locks at once; anything else softly, after a step-up', params: objectParams } }, async (request, reply) => {
    const name = nameOf(request);
    if (isLock(name)) {
      const session = await requireSession(ctx, request);
      const entry = await liveObject(ctx.db, session.accountId, name);
      if (entry) {
        await ctx.db.transaction((tx) => forget(tx, entry.blobKey));
        await ctx.blobs.remove(entry.blobKey);
      }
      return reply.status(204).send();
    }
    const session = await requireStepUp(ctx, request);
    const now = nowMs();
    const deleted = await softDelete(ctx.db, session.accountId, name, { now, purgeAfter: now + ctx.config.storeRetentionMs, by: session.id });
    if (deleted) await log(request, session.accountId, 'store-deleted', { name, size: deleted.size, purgeAfter: now + ctx.config.storeRetentionMs });
    return reply.status(204).send();
  });

  app.get<{ Querystring: { prefix: string; after: string; limit: number } }>(
    '/store/objects',
    {
      config,
      schema: {
        summary: 'List live objects by name prefix, in name order, a page at a time',
        querystring: {
          type: 'object',
          properties: {
            prefix: { type: 'string', maxLength: 255, default: '' },
            after: { type: 'string', maxLength: 255, default: '' },
            limit: { type: 'integer', minimum: 1, maximum: 5000, default: 1000 },
          },
        },
      },
    },
    async (request) => {
      const session = await requireSession(ctx, request);
      const { prefix, after, limit } = request.query;
      const entries = await listLive(ctx.db, session.accountId, prefix, after, limit);
      return {
        objects: entries.map((e) => ({ name: e.name, size: e.size })),
        ...(entries.length === limit ? { next: entries.at(-1)?.name } : {}),
      };
    },
  );

  app.get<{ Querystring: { prefix: string; limit: number } }>(
    '/store/deleted',
    {
      config,
      schema: {
        summary: 'Soft-deleted objects still restorable, newest deletion first',
        querystring: { type: 'object', properties: { prefix: { type: 'string', maxLength: 255, default: '' }, limit: { type: 'integer', minimum: 1, maximum: 5000, default: 1000 } } },
      },
    },
    async (request) => {
      const session = await requireSession(ctx, request);
      const entries = await listDeleted(ctx.db, session.accountId, request.query.prefix, request.query.limit);
      return { objects: entries.map((e) => ({ name: e.name, size: e.size, deletedAt: e.deletedAt, purgeAfter: e.purgeAfter })) };
    },
  );

  app.post<{ Body: { name: string } }>(
    '/store/restore',
    {
      config,
      schema: {
        summary: 'Restore the latest soft-deleted version of an object',
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', maxLength: 255 } } },
      },
    },
    async (request) => {
      const session = await requireSession(ctx, request);
      const { name } = request.body;
      if (!isValidName(name)) apiError('E_INVALID_ARGUMENT', 'Not a valid object name.');
      const restored = await ctx.db.transaction((tx) => undelete(tx, session.accountId, name));
      if (!restored) apiError('E_STORAGE_NOT_FOUND', 'Nothing to restore: no deleted version is left, or a live object has that name.');
      await log(request, session.accountId, 'store-restored', { name, size: restored.size });
      return { name, size: restored.size };
    },
  );

  // Versioned objects: the storage contract's one mutable pointer. A swap never destroys the
  // previous body: it is soft-deleted with the same retention as a deletion.
  app.get('/store/versioned/*', { config, schema: { summary: 'Read a versioned object and its version (ETag)', params: objectParams } }, async (request, reply) => {
    const session = await requireSession(ctx, request);
    const entry = (await liveObject(ctx.db, session.accountId, nameOf(request))) ?? apiError('E_STORAGE_NOT_FOUND', 'No such object.');
    return send(request, reply, entry, { etag: `"${entry.blobKey}"` });
  });

  app.put('/store/versioned/*', { config, schema: { summary: 'Replace a versioned object if it is at the version in If-Match (If-None-Match: * to create)', params: objectParams } }, async (request, reply) => {
    const session = await requireSession(ctx, request);
    const name = nameOf(request);
    const ifMatch = request.headers['if-match'];
    const ifNoneMatch = request.headers['if-none-match'];
    let expected: string | null;
    if (ifNoneMatch === '*') expected = null;
    // Any other version than the live one — well-formed or not — is a failed precondition, not a bad request.
    else if (typeof ifMatch === 'string' && /^"[\x21\x23-\x7e]{1,128}"$/.test(ifMatch)) expected = ifMatch.slice(1, -1);
    else apiError('E_BAD_REQUEST', 'Send If-Match: "<version>" or If-None-Match: *.');
    const blob = await receive(request, session.accountId);
    const previous = await commit(session.accountId, name, blob, { expected });
    if (previous) await log(request, session.accountId, 'store-replaced', { name, size: blob.size });
    return reply.status(200).header('etag', `"${blob.blobKey}"`).send({ name, size: blob.size, version: blob.blobKey });
  });

  app.get('/store/usage', { config, schema: { summary: "The account's stored bytes and quota" } }, async (request) => {
    const session = await requireSession(ctx, request);
    return { usedBytes: await usedBytes(ctx.db, session.accountId), quotaBytes: ctx.config.storeQuotaBytes, maxObjectBytes: ctx.config.storeMaxObjectBytes };
  });
}
