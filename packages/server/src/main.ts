import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { openDatabase } from './db/open.ts';

/**
 * `npm start`: the server with embedded defaults (SQLite in the data
 * directory, listening on 127.0.0.1:8787). Stops gracefully on SIGINT/SIGTERM:
 * no new connections, in-flight requests finish, then the database closes.
 */
const config = loadConfig();
const db = await openDatabase(config);
const app = await buildApp({ config, db });
await app.listen({ host: config.host, port: config.port });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : config.port;
const where = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `SQLite in ${config.dataDir}`;
console.log(`Coffer server listening on http://localhost:${String(port)} — data: ${where}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    void app
      .close()
      .then(() => db.close())
      .then(() => process.exit(0), (error: unknown) => {
        console.error(error);
        process.exit(1);
      });
  });
}
