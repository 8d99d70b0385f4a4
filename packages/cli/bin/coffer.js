#!/usr/bin/env node
// The `coffer` command. Node ≥ 22.18 runs the TypeScript sources directly (type
// stripping); run it through npm (`npx coffer`) so the project's pinned Node 24
// is the one on PATH.
import module from 'node:module';
import process from 'node:process';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `coffer: needs Node 22.18 or newer (this is ${process.version}); run it as \`npx coffer\` from the project so npm puts its pinned Node 24 first on PATH\n`,
  );
  process.exit(1);
}
// Type stripping and compiling ~100 modules takes a second; the cache makes later starts fast.
module.enableCompileCache?.();
await import('../src/main.ts');
