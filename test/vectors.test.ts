// Conformance between the TypeScript and the C ring: committed byte images written by each are read by the other.
// - test/vectors/ts/: written by the TypeScript Ring (test/helpers/ts-vectors.ts); checked here to be reproducible,
//   read back by the TypeScript Ring, and read by the C tool `build/Release/ring_vectors read` (native/test/ring_vectors.c).
// - test/vectors/c/: written by the C ring (`ring_vectors write`); read here by the TypeScript Ring.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ring } from '../src/ring/ring.js';
import { RING_HEADER_SIZE } from '../src/ring/layout.js';
import { buildTsVectors, toHex, type VectorJson, type VectorRecord } from './helpers/ts-vectors.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsDir = join(root, 'test', 'vectors', 'ts');
const cDir = join(root, 'test', 'vectors', 'c');
const cTool = join(root, 'build', 'Release', 'ring_vectors');

interface Outcome {
  records: VectorRecord[];
  end: 'empty' | 'closed' | null;
  error: string | null;
}

function names(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.bin'))
        .map((f) => f.slice(0, -'.bin'.length))
        .sort()
    : [];
}

function load(dir: string, name: string): { bin: Buffer; json: VectorJson } {
  return { bin: readFileSync(join(dir, `${name}.bin`)), json: JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as VectorJson };
}

/** Reads an image with the TypeScript Ring the way `ring_vectors read` does: every record, then how it stopped. */
async function readWithTs(bin: Uint8Array): Promise<Outcome> {
  const buffer = new ArrayBuffer(bin.length);
  new Uint8Array(buffer).set(bin);
  const records: VectorRecord[] = [];
  try {
    const ring = Ring.attach(buffer, { waitPolicy: { mode: 'spin', spinMicros: 0 } });
    while (ring.drain((type, payload) => void records.push({ type, payload: toHex(payload) }), 1) === 1);
    try {
      // Resolves false when the producer closed the ring and it is empty; times out at once when it is just empty.
      return { records, end: (await ring.readable({ timeout: 0 })) ? null : 'closed', error: null };
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_TIMEOUT') return { records, end: 'empty', error: null };
      throw e;
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (typeof code !== 'string') throw e;
    return { records, end: null, error: code };
  }
}

/** Runs `ring_vectors read <file>`: one JSON line per record, then {"end": ...} or {"error": ...}. */
function readWithC(file: string): Outcome {
  const run = spawnSync(cTool, ['read', file], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.error, undefined, `ring_vectors could not run: ${String(run.error)}`);
  const lines = run.stdout.trim().split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
  const last = lines.pop() ?? {};
  const outcome: Outcome = {
    records: lines.map((l) => ({ type: l['type'] as number, payload: l['payload'] as string })),
    end: (last['end'] as Outcome['end']) ?? null,
    error: (last['error'] as string | undefined) ?? null,
  };
  assert.equal(run.status, outcome.error === null ? 0 : 1, `exit status of ring_vectors read ${file}; stderr: ${run.stderr}`);
  return outcome;
}

function expectation(json: VectorJson): Outcome {
  return { records: json.records, end: json.end, error: json.error };
}

describe('TypeScript vectors (test/vectors/ts)', () => {
  const built = buildTsVectors();

  test('the committed TypeScript vectors are exactly what the TypeScript Ring writes today', () => {
    assert.deepEqual(names(tsDir), built.map((v) => v.json.name).sort(), 'regenerate with node .out/test/helpers/write-ts-vectors.js --write');
    for (const { bin, json } of built) {
      const committed = load(tsDir, json.name);
      assert.ok(committed.bin.equals(bin), `${json.name}.bin differs from what the TypeScript Ring writes`);
      assert.deepEqual(committed.json, json);
      assert.equal(bin.length, RING_HEADER_SIZE + json.capacity);
    }
  });

  test('the vectors cover padding, the u32 wrap, zero-length and max-size payloads, a closed ring and corruption', () => {
    const all = built.map((v) => v.json);
    assert.ok(all.some((j) => j.tail < j.head), 'a wrapped position');
    assert.ok(all.some((j) => j.records.some((r) => r.payload === '')), 'a zero-length payload');
    assert.ok(all.some((j) => j.records.some((r) => r.payload.length === 2 * j.max_payload)), 'a max-size payload');
    assert.ok(all.some((j) => j.end === 'closed'));
    assert.ok(all.some((j) => j.error === 'ERR_RING_CORRUPT'));
  });

  for (const { json } of built) {
    test(`the TypeScript Ring reads ${json.name} as its json says`, async () => {
      const { bin } = load(tsDir, json.name);
      assert.deepEqual(await readWithTs(bin), expectation(json));
    });
  }

  const toolMissing = existsSync(cTool) ? false : `the C tool ${cTool} is not built (it comes with the C ring; run npm install)`;
  for (const { json } of built) {
    test(`the C ring (ring_vectors read) reads ${json.name} as its json says`, { skip: toolMissing }, () => {
      assert.deepEqual(readWithC(join(tsDir, `${json.name}.bin`)), expectation(json));
    });
  }
});

describe('C vectors (test/vectors/c)', () => {
  const cNames = names(cDir);
  test('the C vectors are present', { skip: cNames.length === 0 ? `no C vectors in ${cDir} yet (they come with the C ring)` : false }, () => {
    assert.ok(cNames.length > 0);
  });
  for (const name of cNames) {
    test(`the TypeScript Ring reads the C vector ${name} as its json says`, async () => {
      const { bin, json } = load(cDir, name);
      assert.deepEqual(await readWithTs(bin), expectation(json));
    });
  }
});
