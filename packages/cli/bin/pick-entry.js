// Which code `coffer` runs: the bundle in ../dist (scripts/bundle.ts) while it is current, else
// the TypeScript sources. Plain JavaScript: it runs before anything is loaded, on any Node.
import { readFileSync, statSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const MANIFEST_FORMAT = 1;
export const SOURCES = new URL('../src/main.ts', import.meta.url);

/**
 * The bundle's entry URL when `distDir` (a URL ending in /) holds a complete bundle and none of
 * the source files that went into it changed since it was built; otherwise undefined and why.
 * Checking costs one stat per source file (≈130), far less than loading them.
 */
export function pickBundle(distDir) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(new URL('manifest.json', distDir), 'utf8'));
  } catch (error) {
    return { reason: error?.code === 'ENOENT' ? 'no bundle' : 'unreadable bundle manifest' };
  }
  if (manifest?.format !== MANIFEST_FORMAT || typeof manifest.entry !== 'string' || !Array.isArray(manifest.inputs) || typeof manifest.builtAt !== 'number') {
    return { reason: 'unreadable bundle manifest' };
  }
  if (manifest.node !== process.version) return { reason: `bundle built by Node ${String(manifest.node)}` };
  for (const input of manifest.inputs) {
    let mtime;
    try {
      mtime = statSync(new URL(input, distDir)).mtimeMs;
    } catch {
      return { reason: `${input} is gone` };
    }
    if (mtime > manifest.builtAt) return { reason: `${input} changed after the bundle was built` };
  }
  return { entry: new URL(manifest.entry, distDir) };
}

/** What bin/coffer.js imports: the current bundle, or the sources (always with COFFER_NO_BUNDLE=1). */
export function pickEntry(env = process.env) {
  if (env.COFFER_NO_BUNDLE === '1') return SOURCES;
  const picked = pickBundle(new URL('../dist/', import.meta.url));
  if (env.COFFER_DEBUG === '1') process.stderr.write(picked.entry ? 'coffer: running the bundle\n' : `coffer: running the sources (${picked.reason})\n`);
  return picked.entry ?? SOURCES;
}
