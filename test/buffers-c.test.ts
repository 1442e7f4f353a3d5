/**
 * Runs the C tests of native/include/native_sidecar/buffers.h (native/test/buffers_test.c) and drives the C pool
 * through native/test/buffers_peer.c, the C side of the differential test (docs/wire-format.md §9).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { nativeProgram } from './helpers/native-programs.js';

const KIB = 1024;
const MIB = 1024 * KIB;

/** Runs `buffers_peer create` with the ops as stdin lines and returns one verdict line per op. */
function runCreate(limits: { reserve: number; maxSegments: number; maxBuffers: number; segment0: number; growth: number }, ops: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'buffers-c-'));
  try {
    const args = ['create', join(dir, 'pool'), limits.reserve, limits.maxSegments, limits.maxBuffers, limits.segment0, limits.growth].map(String);
    const run = spawnSync(nativeProgram('buffers_peer'), args, { input: ops.map((op) => `${op}\n`).join(''), encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, `buffers_peer failed: ${run.stderr}`);
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines.length, ops.length, `one verdict per op expected; stdout:\n${run.stdout}`);
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The handle of an `ok <hex>` verdict. */
function handleOf(verdict: string | undefined): string {
  const match = /^ok ([0-9a-f]{48})$/.exec(verdict ?? '');
  assert.ok(match, `expected "ok <handle>", got ${verdict}`);
  return match[1] ?? '';
}

/** A copy of the handle with its segment field (u32 LE at 0) replaced. */
function withSegment(hex: string, segment: number): string {
  const bytes = Buffer.from(hex, 'hex');
  bytes.writeUInt32LE(segment, 0);
  return bytes.toString('hex');
}

describe('the C buffer pool (buffers_test)', () => {
  test('every C unit test of buffers.h passes', async (t) => {
    const run = spawnSync(nativeProgram('buffers_test'), [], { encoding: 'utf8', timeout: 5 * 60_000 });
    assert.equal(run.error, undefined, `buffers_test could not run: ${String(run.error)}`);
    const lines = run.stdout.trim().split('\n');
    const summary = /^(\d+) passed, (\d+) failed$/.exec(lines.at(-1) ?? '');
    assert.ok(summary, `buffers_test did not end with its summary line; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    for (const match of lines.slice(0, -1).map((line) => /^(ok|not ok) - (.+)$/.exec(line)).filter((m) => m !== null)) {
      await t.test(match[2] ?? '', () => {
        assert.equal(match[1], 'ok', `C test failed; stderr:\n${run.stderr}`);
      });
    }
    assert.equal(Number(summary[2]), 0, `buffers_test reported failures; stderr:\n${run.stderr}`);
    assert.equal(run.status, 0);
  });
});

describe('the C buffer pool driven through buffers_peer', () => {
  const small = { reserve: 1 * MIB, maxSegments: 4, maxBuffers: 16, segment0: 4 * KIB, growth: 8 * KIB };

  test('a handle whose segment the owner has not grown yet is refused with EHANDLE', () => {
    const first = runCreate(small, ['alloc 100']);
    const forged = withSegment(handleOf(first[0]), 1);
    const out = runCreate(small, ['alloc 100', `resolve ${forged}`, `resolve ${withSegment(forged, 4)}`]);
    assert.equal(out[1], 'err EHANDLE');
    assert.equal(out[2], 'err EHANDLE');
  });

  test('a pool grows by one segment when the first is full, and the new segment is visible to the reader', () => {
    const out = runCreate(small, ['alloc 4096', 'alloc 10', 'stats']);
    const grown = handleOf(out[1]);
    assert.equal(Buffer.from(grown, 'hex').readUInt32LE(0), 1);
    assert.equal(out[2], 'ok 2 2 0 2 0 4160');
    const again = runCreate(small, ['alloc 4096', 'alloc 10', `resolve ${grown}`, `fill ${grown} 3`, `sum ${grown}`]);
    assert.equal(again[2], 'ok 8192 10'); // segment 1 starts after the header and segment 0
    const expectedSum = Array.from({ length: 10 }, (_, j) => (3 + j * 7) & 0xff).reduce((a, b) => a + b, 0);
    assert.deepEqual(again.slice(3), ['ok', `ok ${expectedSum}`]);
  });

  test('a returned handle is accepted once, and a second return or a return of an owned buffer is counted and refused', () => {
    const out = runCreate(small, ['alloc 64']);
    const h = handleOf(out[0]);
    const run = runCreate(small, ['alloc 64', `return ${h}`, `lend ${h}`, `free ${h}`, `return ${h}`, `return ${h}`, 'stats']);
    assert.deepEqual(run.slice(1), ['err ENOTLIVE', 'ok', 'err ENOTLIVE', 'ok', 'err ENOTLIVE', 'ok 1 1 0 0 2 0']);
  });

  test('a segment count that shrinks under the reader is refused with ECOUNT, and a fresh attach sees the table as written', () => {
    const out = runCreate(small, ['alloc 4096', 'alloc 10']);
    const grown = handleOf(out[1]);
    const run = runCreate(small, ['alloc 4096', 'alloc 10', `resolve ${grown}`, 'poke32 128 1', `resolve ${withSegment(grown, 2)}`, 'attach', `resolve ${grown}`]);
    assert.deepEqual(run.slice(2), ['ok 8192 10', 'ok', 'err ECOUNT', 'ok', 'err EHANDLE']);
  });

  test('the reserve bounds growth: ENOSPACE is counted in failures', () => {
    const tight = { reserve: 16 * KIB, maxSegments: 3, maxBuffers: 16, segment0: 4 * KIB, growth: 4 * KIB };
    const run = runCreate(tight, ['alloc 4096', 'alloc 8192', 'alloc 1', 'stats', 'bogus line here']);
    assert.equal(run[2], 'err ENOSPACE');
    assert.equal(run[3], 'ok 2 2 1 2 0 12288');
    assert.equal(run[4], 'err EINVAL');
  });
});
