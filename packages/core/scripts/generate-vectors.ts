/**
 * Writes packages/core/test/vectors/*.vector from the seeded generator.
 * `--check` writes nothing and fails if a committed file differs, is missing or is extra.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateVectors } from '../test/vector-generator.ts';

const directory = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'vectors');
const check = process.argv.includes('--check');
const files = await generateVectors();
const existing = existsSync(directory) ? readdirSync(directory).filter((name) => name.endsWith('.vector')) : [];

if (check) {
  const problems: string[] = [];
  for (const [name, content] of files) {
    const path = join(directory, name);
    if (!existsSync(path)) problems.push(`missing: ${name}`);
    else if (readFileSync(path, 'utf8') !== content) problems.push(`differs: ${name}`);
  }
  for (const name of existing) if (!files.has(name)) problems.push(`extra: ${name}`);
  if (problems.length > 0) {
    console.error(`vectors differ from the generator's output:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`vectors: all ${String(files.size)} files match the generator`);
} else {
  mkdirSync(directory, { recursive: true });
  for (const name of existing) if (!files.has(name)) rmSync(join(directory, name));
  for (const [name, content] of files) writeFileSync(join(directory, name), content);
  console.log(`vectors: wrote ${String(files.size)} files`);
}
