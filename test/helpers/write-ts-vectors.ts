/**
 * Writes the TypeScript conformance vectors to test/vectors/ts/:
 *   npx tsc -p tsconfig.test.json && node .out/test/helpers/write-ts-vectors.js --write
 * Without --write it only says so, so that a test runner loading every .js file changes nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildTsVectors } from './ts-vectors.js';

if (!process.argv.includes('--write')) {
  console.log('Pass --write to regenerate test/vectors/ts/.');
  process.exit(0);
}
const dir = fileURLToPath(new URL('../../../test/vectors/ts/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const { bin, json } of buildTsVectors()) {
  writeFileSync(`${dir}${json.name}.bin`, bin);
  writeFileSync(`${dir}${json.name}.json`, JSON.stringify(json, null, 2) + '\n');
}
console.log(`wrote ${buildTsVectors().length} vectors to ${dir}`);
