/** Writes the TypeScript conformance vectors to test/vectors/ts/ (run from anywhere: node .out/test/helpers/write-ts-vectors.js). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildTsVectors } from './ts-vectors.js';

const dir = fileURLToPath(new URL('../../../test/vectors/ts/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const { bin, json } of buildTsVectors()) {
  writeFileSync(`${dir}${json.name}.bin`, bin);
  writeFileSync(`${dir}${json.name}.json`, JSON.stringify(json, null, 2) + '\n');
}
console.log(`wrote ${buildTsVectors().length} vectors to ${dir}`);
