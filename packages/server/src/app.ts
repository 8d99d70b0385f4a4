import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ServerConfig } from './config.ts';
import type { AppContext } from './context.ts';
import type { Db } from './db/db.ts';
import { installErrorHandler } from './http-errors.ts';
import { installMetrics } from './metrics.ts';
import { opsRoutes } from './routes/ops-routes.ts';
import { sessionRoutes } from './routes/session-routes.ts';

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
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true } },
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
  await app.register(fastifyRateLimit, {
    global: true,
    max: 600,
    timeWindow: '1 minute',
    // Fastify's request.ip already honours trusted proxies only.
    keyGenerator: (request) => `ip:${request.ip}`,
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
  });
  await app.register(
    (scope) => {
      sessionRoutes(scope, ctx);
    },
    { prefix: '/api/v1' },
  );
  // Feature route modules register here (passkeys, vault, recovery key).

  app.get('/api/openapi.json', { schema: { hide: true } }, () => app.swagger());
  return app;
}
