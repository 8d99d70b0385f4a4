// npm install's `prepare` step: bundles the CLI (bundle.ts). Plain JavaScript, so that whatever
// Node npm runs it with can tell that it cannot strip types (before 22.18) and skip the bundle
// instead of failing the install: `coffer` then runs its sources, as it must on such a Node anyway.
import process from 'node:process';

if (process.features.typescript) {
  const { main } = await import('./bundle.ts');
  await main(process.argv.slice(2));
} else {
  process.stderr.write(`coffer: Node ${process.version} cannot run the bundler (TypeScript); the CLI is not bundled\n`);
}
