/**
 * The two implementations of the buffer pool (docs/wire-format.md §9) against each other: the C constants and
 * offsets of buffers.h (native/test/buffers_dump.c) equal src/loans/layout.ts; the C owner and reader
 * (native/test/buffers_peer.c) give the same answer as the TypeScript ones to every operation of random sequences
 * (the same offsets, generations, codes and counters); and a pool written by one language is read by the other
 * from a real file.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import fc from 'fast-check';

import { BufferPoolError } from '../src/errors.js';
import { handleFromHex, handleToHex, type BufferHandle } from '../src/loans/handle.js';
import * as L from '../src/loans/layout.js';
import { PoolOwner, initBufferPool } from '../src/loans/owner.js';
import { PoolReader } from '../src/loans/reader.js';
import { nativeProgram } from './helpers/native-programs.js';

const dir = mkdtempSync(join(tmpdir(), 'ns-buffers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const NAMES = new Map<number, string>(
  Object.entries(L).filter(([k, v]) => /^BUFFERS_E[A-Z]+$/.test(k) && typeof v === 'number').map(([k, v]) => [v as number, k.slice('BUFFERS_'.length)]),
);

type Config = { reserve: number; maxSegments: number; maxBuffers: number; seg0: number; growth: number };
type Op =
  | { k: 'alloc'; n: number }
  | { k: 'lend' | 'free' | 'return' | 'resolve' | 'sum'; i: number; forge: number }
  | { k: 'fill'; i: number; seed: number }
  | { k: 'reclaim' }
  | { k: 'stats' };

/** Runs `ops` on a TypeScript pool; returns the op lines (as buffers_peer reads them) and the expected answers. */
function runTypeScript(c: Config, ops: Op[]): { lines: string[]; answers: string[] } {
  const memory = new SharedArrayBuffer(c.reserve);
  let fileSize = L.BUFFERS_HEADER_SIZE + c.seg0;
  initBufferPool(memory, { reserveBytes: c.reserve, maxSegments: c.maxSegments, maxBuffers: c.maxBuffers, segment0Bytes: c.seg0 });
  const owner = PoolOwner.attach(memory, { growthBytes: c.growth, extend: (s) => ((fileSize = Math.max(fileSize, s)), true), fileSize: () => fileSize });
  const reader = PoolReader.attach(memory, { fileSize: () => fileSize });
  const handles: BufferHandle[] = [];
  const lines: string[] = [], answers: string[] = [];
  const pick = (i: number, forge: number): BufferHandle | undefined => {
    if (handles.length === 0) return undefined;
    const h = handles[i % handles.length]!;
    if (forge === 1) return { ...h, generation: (h.generation + 1) >>> 0 || 1 };
    if (forge === 2) return { ...h, offset: h.offset + 64 };
    if (forge === 3) return { ...h, length: h.length + 1 };
    return h;
  };
  const outcome = (fn: () => unknown): string => {
    try {
      fn();
      return 'ok';
    } catch (error) {
      assert.ok(error instanceof BufferPoolError);
      return 'err ENOTLIVE';
    }
  };
  for (const op of ops) {
    if (op.k === 'alloc') {
      lines.push(`alloc ${op.n}`);
      const r = owner.tryAllocate(op.n);
      if (typeof r === 'number') answers.push(`err ${NAMES.get(r)}`);
      else {
        handles.push(r);
        answers.push(`ok ${handleToHex(r)}`);
      }
    } else if (op.k === 'reclaim') {
      lines.push('reclaim');
      answers.push(`ok ${owner.reclaimLent()}`);
    } else if (op.k === 'stats') {
      lines.push('stats');
      const s = owner.stats();
      answers.push(`ok ${s.segmentCount} ${s.allocations} ${s.failures} ${s.liveBuffers} ${s.invalidReturns} ${s.liveBytes}`);
    } else {
      const h = pick(op.i, op.k === 'fill' ? 0 : op.forge);
      if (h === undefined) continue;
      const hex = handleToHex(h);
      if (op.k === 'lend') answers.push(outcome(() => owner.lend(h)));
      else if (op.k === 'free') answers.push(outcome(() => owner.free(h)));
      else if (op.k === 'return') answers.push(owner.acceptReturn(h) ? 'ok' : 'err ENOTLIVE');
      else {
        const at = reader.resolveOffset(h);
        if (at < 0) answers.push(`err ${NAMES.get(at)}`);
        else if (op.k === 'resolve') answers.push(`ok ${at} ${h.length}`);
        else if (op.k === 'fill') {
          const bytes = new Uint8Array(memory, at, h.length);
          for (let j = 0; j < bytes.length; j++) bytes[j] = (op.seed + j * 7) & 0xff;
          answers.push('ok');
        } else {
          const bytes = new Uint8Array(memory, at, h.length);
          let sum = 0;
          for (let j = 0; j < bytes.length; j++) sum = (sum + bytes[j]!) >>> 0;
          answers.push(`ok ${sum}`);
        }
      }
      lines.push(op.k === 'fill' ? `fill ${hex} ${op.seed}` : `${op.k} ${hex}`);
    }
  }
  return { lines, answers };
}

function runC(c: Config, lines: string[], file: string): string[] {
  const run = spawnSync(nativeProgram('buffers_peer'), ['create', file, String(c.reserve), String(c.maxSegments), String(c.maxBuffers), String(c.seg0), String(c.growth)], {
    input: lines.length > 0 ? lines.join('\n') + '\n' : '',
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, `buffers_peer exited with ${run.status}: ${run.stderr}`);
  return run.stdout.trim().split('\n').filter((l) => l.length > 0);
}

describe('the buffer pool: C (buffers.h) against TypeScript (src/loans)', () => {
  test('buffers_dump prints every constant of src/loans/layout.ts with the same value, and nothing else', () => {
    const dump = JSON.parse(execFileSync(nativeProgram('buffers_dump'), { encoding: 'utf8' })) as Record<string, number>;
    const ts = Object.fromEntries(Object.entries(L).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
    assert.deepEqual(Object.keys(dump).sort(), Object.keys(ts).sort());
    for (const [k, v] of Object.entries(ts)) assert.equal(dump[k], v, k);
  });

  test('the C owner and reader answer every operation of random sequences exactly as the TypeScript ones (fast-check)', () => {
    const config = fc.record({
      reserve: fc.constantFrom(64 * 1024, 256 * 1024, 1024 * 1024),
      maxSegments: fc.integer({ min: 1, max: 16 }),
      maxBuffers: fc.integer({ min: 1, max: 64 }),
      seg0: fc.constantFrom(4096, 8192, 32 * 1024),
      growth: fc.constantFrom(4096, 16 * 1024, 64 * 1024),
    });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ k: fc.constant('alloc' as const), n: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 100 * 1024 })) }),
      fc.record({ k: fc.constantFrom('lend', 'free', 'return', 'resolve', 'sum' as const), i: fc.nat(), forge: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 })) }),
      fc.record({ k: fc.constant('fill' as const), i: fc.nat(), seed: fc.integer({ min: 0, max: 255 }) }),
      fc.constant({ k: 'reclaim' as const }),
      fc.constant({ k: 'stats' as const }),
    );
    let run = 0;
    fc.assert(
      fc.property(config, fc.array(op, { minLength: 1, maxLength: 120 }), (c, ops) => {
        const { lines, answers } = runTypeScript(c, ops);
        const got = runC(c, lines, join(dir, `diff-${run++}.pool`));
        for (let i = 0; i < answers.length; i++) assert.equal(got[i], answers[i], `op ${i}: ${lines[i]}`);
        assert.equal(got.length, answers.length);
      }),
      { numRuns: 60 },
    );
  });

  test('a pool the TypeScript owner wrote to a file is read by the C reader: same bytes, same verdicts for forged handles', () => {
    const reserve = 1024 * 1024;
    const memory = new SharedArrayBuffer(reserve);
    let fileSize = L.BUFFERS_HEADER_SIZE + 16 * 1024;
    initBufferPool(memory, { reserveBytes: reserve, maxSegments: 8, maxBuffers: 100, segment0Bytes: 16 * 1024 });
    const owner = PoolOwner.attach(memory, { growthBytes: 64 * 1024, extend: (s) => ((fileSize = s), true), fileSize: () => fileSize });
    const handles = [1, 100, 5000, 16 * 1024, 70 * 1024, 3].map((n) => owner.allocate(n));
    const sums = handles.map((h, k) => {
      const b = owner.bytes(h);
      let sum = 0;
      for (let j = 0; j < b.length; j++) sum = (sum + (b[j] = (k * 131 + j * 7 + 1) & 0xff)) >>> 0;
      return sum;
    });
    const file = join(dir, 'ts-written.pool');
    writeFileSync(file, new Uint8Array(memory, 0, fileSize));
    const forged = [{ ...handles[4]!, segment: 5 }, { ...handles[4]!, offset: 2 ** 40 }, { ...handles[0]!, reserved: 1 }, { ...handles[0]!, generation: 0 }];
    const reader = PoolReader.attach(memory, { fileSize: () => fileSize });
    const lines = [...handles.map((h) => `sum ${handleToHex(h)}`), ...forged.map((h) => `resolve ${handleToHex(h)}`)];
    const run = spawnSync(nativeProgram('buffers_peer'), ['open', file], { input: lines.join('\n') + '\n', encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const out = run.stdout.trim().split('\n');
    assert.equal(out[0], 'ok', 'attach');
    assert.deepEqual(out.slice(1, 1 + handles.length), sums.map((s) => `ok ${s}`));
    assert.deepEqual(out.slice(1 + handles.length), forged.map((h) => `err ${NAMES.get(reader.resolveOffset(h))}`));
  });

  test('a pool the C owner wrote to a file is read by the TypeScript reader: same bytes', () => {
    const c: Config = { reserve: 1024 * 1024, maxSegments: 4, maxBuffers: 50, seg0: 8192, growth: 128 * 1024 };
    const file = join(dir, 'c-written.pool');
    const allocs = [10, 8000, 100 * 1024, 1];
    const first = runC(c, allocs.map((n) => `alloc ${n}`), file);
    const handles = first.map((l) => handleFromHex(l.split(' ')[1]!));
    const second = runC(c, [...allocs.map((n) => `alloc ${n}`), ...handles.map((h, k) => `fill ${handleToHex(h)} ${k * 40}`), ...handles.map((h) => `sum ${handleToHex(h)}`)], file);
    const sums = second.slice(allocs.length * 2).map((l) => Number(l.split(' ')[1]));
    const bytes = readFileSync(file);
    const memory = new ArrayBuffer(c.reserve);
    new Uint8Array(memory).set(bytes);
    const reader = PoolReader.attach(memory, { fileSize: () => bytes.length });
    for (const [k, h] of handles.entries()) {
      const view = reader.view(h);
      let sum = 0;
      for (let j = 0; j < view.length; j++) {
        assert.equal(view[j], (k * 40 + j * 7) & 0xff);
        sum = (sum + view[j]!) >>> 0;
      }
      assert.equal(sum, sums[k]);
    }
  });
});
