import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { loadConfig, type ServerConfig } from '../src/config.ts';
import type { Dialect } from '../src/db/db.ts';
import { createTestDatabase, type TestDatabase } from './databases.ts';

/** A server on a fresh database of either engine, for `app.inject` tests or, with `listen`, real HTTP. */
export interface TestServer {
  readonly app: FastifyInstance;
  readonly database: TestDatabase;
  readonly config: ServerConfig;
  /** http://localhost:PORT once `listen` resolved. */
  origin: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** A port that was free a moment ago: WebAuthn needs the origin (with its port) before the server starts. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export async function startTestServer(dialect: Dialect, env: Record<string, string> = {}): Promise<TestServer> {
  const database = await createTestDatabase(dialect);
  const port = Number(env['PORT'] ?? (await freePort()));
  const dataDir = mkdtempSync(join(tmpdir(), 'coffer-server-data-'));
  const config = loadConfig({ COFFER_DATA_DIR: dataDir, COFFER_PURGE_INTERVAL_MINUTES: '0', ...env, PORT: String(port) });
  const app = await buildApp({ config, db: database.db, logger: false });
  const server: TestServer = {
    app,
    database,
    config,
    origin: config.origin,
    async listen() {
      await app.listen({ host: '127.0.0.1', port });
      return server.origin;
    },
    async close() {
      await app.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}
