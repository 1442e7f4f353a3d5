/**
 * Runs the C tests of native/include/native_sidecar/ring.h + wait.h (native/test/ring_test.c, built by binding.gyp)
 * and checks the C conformance vectors (native/test/ring_vectors.c, committed in test/vectors/c).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { RING_HEADER_SIZE } from '../src/ring/layout.js';
import { cVectorsDir, nativeProgram } from './helpers/native-programs.js';

const TEN_MINUTES = 10 * 60 * 1000; // a bound against a hang only: the program itself fails a lost wake-up in seconds

describe('the C ring (ring_test)', () => {
  test('every C unit, corruption, park/wake and stress test passes', async (t) => {
    const run = spawnSync(nativeProgram('ring_test'), [], { encoding: 'utf8', timeout: TEN_MINUTES });
    assert.equal(run.error, undefined, `ring_test could not run: ${String(run.error)}`);
    const lines = run.stdout.trim().split('\n');
    const summary = /^(\d+) passed, (\d+) failed$/.exec(lines.at(-1) ?? '');
    assert.ok(summary, `ring_test did not end with its "N passed, N failed" line; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    const results = lines.slice(0, -1).map((line) => /^(ok|not ok) - (.+)$/.exec(line)).filter((m) => m !== null);
    for (const [, status, name] of results) {
      await t.test(name ?? '', () => {
        assert.equal(status, 'ok', `C test failed; ring_test stderr:\n${run.stderr}`);
      });
    }
    assert.equal(Number(summary[1]), results.filter((m) => m[1] === 'ok').length);
    assert.equal(Number(summary[2]), 0, `ring_test reported failures; stderr:\n${run.stderr}`);
    assert.ok(results.length > 0);
    assert.equal(run.status, 0);
  });
});

interface VectorExpectation {
  name: string;
  capacity: number;
  records: { type: number; payload: string }[];
  end: 'empty' | 'closed' | null;
  error: string | null;
}

function vectorNames(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.bin')).map((f) => f.slice(0, -'.bin'.length)).sort();
}

describe('the C conformance vectors (ring_vectors)', () => {
  test('ring_vectors write reproduces the committed C vectors byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ring-vectors-'));
    try {
      const run = spawnSync(nativeProgram('ring_vectors'), ['write', dir], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const written = readdirSync(dir).sort();
      assert.deepEqual(written, readdirSync(cVectorsDir).sort());
      for (const file of written) {
        assert.ok(readFileSync(join(dir, file)).equals(readFileSync(join(cVectorsDir, file))), `${file} differs from test/vectors/c/${file}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the committed vectors cover wrap, padding, closing and corruption', () => {
    const names = vectorNames(cVectorsDir);
    for (const name of ['basic', 'wrap-padding', 'u32-wrap', 'zero-length', 'max-payload', 'closed', 'corrupt-reserved-type', 'corrupt-padding-at-index-0']) {
      assert.ok(names.includes(name), `test/vectors/c lacks ${name}.bin`);
    }
  });

  for (const name of vectorNames(cVectorsDir)) {
    test(`ring_vectors read delivers what ${name}.json expects`, () => {
      const expected = JSON.parse(readFileSync(join(cVectorsDir, `${name}.json`), 'utf8')) as VectorExpectation;
      const image = readFileSync(join(cVectorsDir, `${name}.bin`));
      assert.equal(image.length, RING_HEADER_SIZE + expected.capacity);
      const run = spawnSync(nativeProgram('ring_vectors'), ['read', join(cVectorsDir, `${name}.bin`)], { encoding: 'utf8' });
      const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      const last = lines.pop();
      assert.deepEqual(lines, expected.records);
      if (expected.error === null) {
        assert.deepEqual(last, { end: expected.end });
        assert.equal(run.status, 0);
      } else {
        assert.deepEqual(last, { error: expected.error });
        assert.equal(run.status, 1);
      }
    });
  }

  test('ring_vectors read reports a file too small to be a ring', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ring-vectors-'));
    try {
      const path = join(dir, 'short.bin');
      writeFileSync(path, Buffer.alloc(RING_HEADER_SIZE - 1));
      const run = spawnSync(nativeProgram('ring_vectors'), ['read', path], { encoding: 'utf8' });
      // a segment too small for a ring is corrupt, like one too small for its data area (wire-format §7)
      assert.equal(run.stdout.trim(), '{"error": "ERR_RING_CORRUPT"}');
      assert.equal(run.status, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
