/**
 * Bundles the `coffer` command into packages/cli/dist (run by `npm install` through the root's
 * `prepare` script, prepare.js, or by hand: `node packages/cli/scripts/bundle.ts [--out DIR]`).
 *
 * Why: Node reads, resolves and strips the types of each of the CLI's ≈130 TypeScript modules
 * on every start — ≈0.1 s of a cold start, a tenth of a next-day backup. One bundled file is
 * read and compiled once (and then served from Node's compile cache). Rolldown does the
 * bundling; this script only decides what goes in and keeps the bundle honest:
 *
 * - npm packages stay outside (resolved from node_modules at run time, as from the sources);
 * - every `import.meta.url` is rewritten to the URL of the module's own source file, so what a
 *   module finds beside itself (package.json, say) is what it finds when run from the sources;
 * - the pack workers' entry point is bundled too (dist/pack-worker-boot.js), and the bundle starts
 *   its workers from there. Run from their TypeScript sources, workers made Node load its type
 *   stripper (WebAssembly) in each worker whenever the compile cache was cold — after an install,
 *   an edit, or a cleaned /tmp: measured, a first backup then peaked at 190–196 MiB instead of
 *   175 MiB and took 0.1–0.2 s longer;
 * - dist/manifest.json lists every source file that went in; bin/pick-entry.js runs the bundle
 *   only while none of them is newer than it, so an edited source is never shadowed by a stale
 *   bundle. A failed build leaves any previous bundle alone and does not fail `npm install`:
 *   `coffer` then runs the sources, only slower to start.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Must match bin/pick-entry.js, which reads the manifest (the bundle test builds one and has it picked). */
const MANIFEST_FORMAT = 1;

const CLI_ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = join(CLI_ROOT, 'src', 'main.ts');
/** The pack workers' entry point, and the module that starts workers from it (beside the engine's Node index). */
const ENGINE_NODE = dirname(fileURLToPath(import.meta.resolve('@coffer/engine/node')));
const WORKER_BOOT = 'pack-worker-boot.js';
const WORKER_ENTRY = join(ENGINE_NODE, WORKER_BOOT);
const WORKER_STARTER = join(ENGINE_NODE, 'pack-workers.ts');
const WORKER_URL = `new URL('./${WORKER_BOOT}', import.meta.url)`;

/** Workspace packages are bundled; every other bare specifier is an npm package or a Node built-in. */
function isExternal(id: string): boolean {
  return !(id.startsWith('.') || isAbsolute(id) || id.startsWith('@coffer/') || id.startsWith('\0'));
}

/** A module-relative URL, spelled so that it still points at the source file from the bundle's folder. */
function sourceUrlExpression(outDir: string, sourceFile: string): string {
  const path = relative(outDir, sourceFile).split(sep).join('/');
  return `new URL(${JSON.stringify(path.startsWith('.') ? path : `./${path}`)}, import.meta.url).href`;
}

export interface BundleResult {
  readonly outDir: string;
  readonly inputs: readonly string[];
}

/** Builds the bundle into `outDir` (replaced whole once the new one is complete). */
export async function bundle(outDir: string): Promise<BundleResult> {
  const target = resolve(outDir);
  const staging = `${target}.building-${String(process.pid)}`;
  rmSync(staging, { recursive: true, force: true });
  const builtAt = Date.now();
  try {
    // Loaded here, not imported above: without it (an install without devDependencies) the
    // failure is reported like any other and `npm install` still succeeds.
    const { build } = await import('rolldown');
    const result = await build({
      input: { coffer: ENTRY, [WORKER_BOOT.replace(/\.js$/, '')]: WORKER_ENTRY },
      platform: 'node',
      external: isExternal,
      logLevel: 'warn',
      plugins: [
        {
          name: 'coffer-source-urls',
          transform(code, id) {
            if (!code.includes('import.meta.url')) return null;
            let out = code;
            if (resolve(id) === WORKER_STARTER) {
              // Workers start from the bundled entry point beside the bundle, not from the sources.
              if (!out.includes(WORKER_URL)) throw new Error(`${id} no longer starts its workers with ${WORKER_URL}`);
              out = out.replaceAll(WORKER_URL, `new URL('./${WORKER_BOOT}', import.meta['url'])`);
            }
            // The staging folder sits beside `target`, at the same depth: paths made for `target` hold.
            return { code: out.replaceAll('import.meta.url', sourceUrlExpression(target, id)), map: null };
          },
        },
      ],
      output: { dir: staging, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js', sourcemap: false },
      write: true,
    });
    const inputs = new Set<string>();
    for (const item of result.output) {
      if (item.type !== 'chunk') continue;
      for (const id of item.moduleIds) if (isAbsolute(id)) inputs.add(relative(target, id).split(sep).join('/'));
    }
    const listed = [...inputs].sort();
    const manifest = { format: MANIFEST_FORMAT, entry: 'coffer.js', builtAt, node: process.version, inputs: listed };
    writeFileSync(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    mkdirSync(dirname(target), { recursive: true });
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    return { outDir: target, inputs: listed };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** `node bundle.ts [--out DIR]` and npm install's `prepare` step (prepare.js): never fails the install. */
export async function main(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({ args: [...args], options: { out: { type: 'string', default: join(CLI_ROOT, 'dist') } } });
  try {
    const { outDir, inputs } = await bundle(values.out);
    process.stdout.write(`coffer: bundled ${String(inputs.length)} modules into ${relative(process.cwd(), outDir) || '.'}\n`);
  } catch (error) {
    process.stderr.write(`coffer: could not bundle the CLI (${error instanceof Error ? error.message : String(error)}); \`npx coffer\` runs the TypeScript sources instead, only slower to start\n`);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
