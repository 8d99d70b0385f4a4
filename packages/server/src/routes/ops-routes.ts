import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';

/** Liveness, readiness, and the landing page. */
export function opsRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', { schema: { hide: true } }, () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await ctx.db.ping();
      return { status: 'ready', database: ctx.db.dialect };
    } catch {
      return reply.status(503).send({ status: 'unavailable', database: ctx.db.dialect });
    }
  });
  app.get('/', { schema: { hide: true } }, (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Coffer server</title>
<main><h1>Coffer server</h1><p>End-to-end encrypted backups unlocked with a passkey, a password vault or a recovery key.</p>
<p>The API is described at <a href="/api/openapi.json">/api/openapi.json</a>. Health: <a href="/healthz">/healthz</a>, readiness: <a href="/readyz">/readyz</a>.</p></main></html>`),
  );
}
