import AjvCompiler from '@fastify/ajv-compiler';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import type { Redis } from 'ioredis';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ServerConfig } from './config.ts';
import type { AppContext } from './context.ts';
import type { Db } from './db/db.ts';
import { currentSession } from './auth.ts';
import { installErrorHandler } from './http-errors.ts';
import { installMetrics } from './metrics.ts';
import { passkeyRoutes } from './passkeys/routes.ts';
import { recoveryRoutes } from './recovery/routes.ts';
import { opsRoutes } from './routes/ops-routes.ts';
import { stepUpPageRoutes } from './step-up/page.ts';
import { sessionRoutes } from './routes/session-routes.ts';
import { vaultRoutes } from './vault/routes.ts';
import type { BlobStore } from './store/blob-store.ts';
import { openBlobStore } from './store/open-blob-store.ts';
import { startPurgeJob } from './store/purge-job.ts';
import { storeRoutes } from './store/store-routes.ts';

/**
 * Two validators: JSON bodies are checked strictly (a string is never taken for
 * a number), while query strings, path parameters and headers — text by
 * nature — are coerced to the schema's types.
 */
type ValidatorFactory = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>;

function buildValidators(externalSchemas: unknown, ajvServerOptions: unknown): (route: { httpPart?: string }) => unknown {
  const make = AjvCompiler() as (schemas: unknown, options: unknown) => (route: unknown) => unknown;
  const base = (ajvServerOptions ?? {}) as { customOptions?: Record<string, unknown> };
  const strict = make(externalSchemas, { ...base, customOptions: { ...base.customOptions, removeAdditional: false, coerceTypes: false, useDefaults: true } });
  const coercing = make(externalSchemas, { ...base, customOptions: { ...base.customOptions, removeAdditional: false, coerceTypes: true, useDefaults: true } });
  return (route) => (route.httpPart === 'body' ? strict(route) : coercing(route));
}

/**
 * The shared Redis connection: short timeouts so a Redis outage costs a
 * request milliseconds, not seconds (rate limiting then fails open, logged,
 * rather than taking the service down).
 */
async function openRedis(url: string, app: FastifyInstance): Promise<Redis> {
  // Loaded only when configured: a single instance should not carry the client in memory.
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { connectTimeout: 1000, maxRetriesPerRequest: 1, enableOfflineQueue: true });
  redis.on('error', (error: Error) => {
    app.log.warn({ err: { message: error.message } }, 'redis error');
  });
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => undefined);
  });
  return redis;
}

/** Header and body fields that may carry secrets; pino replaces them with "[redacted]". */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.token',
  '*.password',
  '*.share',
  '*.exportKey',
  '*.prf',
];

export interface BuildOptions {
  config: ServerConfig;
  db: Db;
  /** Where store bodies go; default: files under `config.blobDir`. */
  blobs?: BlobStore;
  /** false in tests that want silence; a pino options object otherwise. */
  logger?: boolean | Record<string, unknown>;
}

/** The whole server as a Fastify instance (not listening): tests inject requests into it, main.ts listens. */
export async function buildApp(options: BuildOptions): Promise<FastifyInstance> {
  const { config, db } = options;
  const app = Fastify({
    logger:
      options.logger === false
        ? false
        : { level: config.logLevel, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, ...(typeof options.logger === 'object' ? options.logger : {}) },
    // X-Forwarded-For is believed only from the configured proxies.
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    bodyLimit: 1024 * 1024,
    schemaController: { compilersFactory: { buildValidator: buildValidators as ValidatorFactory } },
  });
  const ctx: AppContext = { config, db };

  installErrorHandler(app);
  await app.register(fastifyCookie);
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // OPAQUE runs as WebAssembly in the page; nothing else is allowed to evaluate code.
        scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
      },
    },
    crossOriginEmbedderPolicy: false,
    strictTransportSecurity: config.origin.startsWith('https:'),
  });
  const redis = config.redisUrl === undefined ? undefined : await openRedis(config.redisUrl, app);
  await app.register(fastifyRateLimit, {
    global: true,
    // With several instances the counters must be shared, or each instance would allow the full budget.
    ...(redis === undefined ? {} : { redis, nameSpace: `${config.redisPrefix}rate-limit:`, skipOnError: true }),
    max: config.rateLimitPerMinute,
    timeWindow: '1 minute',
    // Per account when the request carries a session (however many addresses it comes from),
    // else per client address — Fastify's request.ip, which honours trusted proxies only.
    // Sign-in routes add their own per-address and per-name limits.
    keyGenerator: async (request) => {
      const session = await currentSession(ctx, request).catch(() => undefined);
      return session === undefined ? `ip:${request.ip}` : `account:${session.accountId}`;
    },
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      error: { code: 'E_RATE_LIMITED', message: `Too many requests; try again in ${String(Math.ceil(context.ttl / 1000))} s.` },
    }),
  });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Coffer server API', version: '1.0.0', description: 'Passkey accounts with PRF, hybrid-slot shares, the password vault and the security log.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'coffer_session' },
        },
      },
    },
  });
  installMetrics(app);

  await app.register((scope) => {
    opsRoutes(scope, ctx);
    stepUpPageRoutes(scope);
  });
  await app.register(
    (scope) => {
      sessionRoutes(scope, ctx);
    },
    { prefix: '/api/v1' },
  );
  // Feature route modules register here (passkeys, vault, recovery key).
  const blobs = options.blobs ?? (await openBlobStore(config));
  if (!options.blobs) {
    app.addHook('onClose', async () => {
      await blobs.close();
    });
  }
  await app.register(
    (scope) => {
      storeRoutes(scope, { ...ctx, blobs });
    },
    { prefix: '/api/v1' },
  );
  startPurgeJob(app, db, blobs, config.purgeIntervalMs);
  await app.register((scope) => { passkeyRoutes(scope, ctx); }, { prefix: '/api/v1' });
  await app.register((scope) => { vaultRoutes(scope, ctx); }, { prefix: '/api/v1' });
  await app.register((scope) => { recoveryRoutes(scope, ctx); }, { prefix: '/api/v1' });

  app.get('/api/openapi.json', { schema: { hide: true } }, () => app.swagger());
  return app;
}
