/**
 * Loads the committed vector files through Vite's import.meta.glob, so the same
 * tests read them in Node and in the browser. (The generator script runs in
 * plain Node and uses only vector-file.ts.)
 */
import { type VectorFields, parseVectorFile } from './vector-file.ts';

/** Files as Vite sees them: path → raw text. Works in Node and in the browser project alike. */
export const VECTOR_FILES: Readonly<Record<string, string>> = import.meta.glob('./vectors/*.vector', { query: '?raw', import: 'default', eager: true });

export function vectorName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function loadVectors(): { name: string; fields: VectorFields }[] {
  return Object.entries(VECTOR_FILES)
    .map(([path, text]) => ({ name: vectorName(path), fields: parseVectorFile(text, vectorName(path)) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
