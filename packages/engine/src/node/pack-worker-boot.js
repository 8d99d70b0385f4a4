// The pack workers' entry point (pack-worker.ts). A worker thread does not share the main
// thread's module compile cache, so each would load Node's TypeScript stripper to read the
// worker's .ts modules: about 9 MiB of memory and a few hundred milliseconds per worker. With
// the cache enabled here first, a warm cache serves the stripped modules instead.
import module from 'node:module';

module.enableCompileCache?.();
await import('./pack-worker.ts');
