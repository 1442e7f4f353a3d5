/**
 * The buffer pool of docs/wire-format.md §9 in TypeScript (src/loans): the owner's allocator against a model
 * (fast-check commands), the receiver's checks against a hostile peer that writes any handle and any segment
 * table (no accepted handle ever reaches outside the pool), and the ownership rules of §9.1/§9.2.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import fc from 'fast-check';

import { BufferPoolError } from '../src/errors.js';
import { decodeHandle, encodeHandle, type BufferHandle } from '../src/loans/handle.js';
import * as L from '../src/loans/layout.js';
import { PoolOwner, initBufferPool } from '../src/loans/owner.js';
import { PoolReader } from '../src/loans/reader.js';

const MiB = 1024 * 1024;

function makePool(o: { reserve?: number; maxSegments?: number; maxBuffers?: number; seg0?: number; growth?: number } = {}) {
  const reserve = o.reserve ?? 4 * MiB;
  const memory = new SharedArrayBuffer(reserve);
  let fileSize = L.BUFFERS_HEADER_SIZE + (o.seg0 ?? 64 * 1024);
  initBufferPool(memory, { reserveBytes: reserve, maxSegments: o.maxSegments ?? 4, maxBuffers: o.maxBuffers ?? 256, segment0Bytes: o.seg0 ?? 64 * 1024 });
  const owner = PoolOwner.attach(memory, {
    growthBytes: o.growth ?? 64 * 1024,
    extend: (size) => {
      fileSize = Math.max(fileSize, size);
      return size <= reserve;
    },
    fileSize: () => fileSize,
  });
  const reader = PoolReader.attach(memory, { fileSize: () => fileSize });
  return { memory, owner, reader, fileSize: () => fileSize };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof BufferPoolError, `a BufferPoolError, not ${String(error)}`);
    return error.code;
  }
}

describe('buffer pool (§9): the owner', () => {
  test('allocations are 64-byte aligned, first fit, and a freed extent is reused at the lowest offset', () => {
    const { owner } = makePool();
    const a = owner.allocate(100), b = owner.allocate(1), c = owner.allocate(64);
    assert.deepEqual([a.offset, b.offset, c.offset], [0, 128, 192]);
    owner.free(a);
    const d = owner.allocate(60);
    assert.equal(d.offset, 0);
    assert.notEqual(d.generation, a.generation);
  });

  test('freed neighbours coalesce on both sides, so the whole segment is one extent again', () => {
    const { owner } = makePool({ maxSegments: 1 });
    const parts = [owner.allocate(16 * 1024), owner.allocate(16 * 1024), owner.allocate(16 * 1024), owner.allocate(16 * 1024)];
    owner.free(parts[0]!);
    owner.free(parts[2]!);
    owner.free(parts[1]!);
    owner.free(parts[3]!);
    const whole = owner.allocate(64 * 1024);
    assert.equal(whole.offset, 0);
  });

  test('the pool grows by one segment when nothing fits, and the reader sees the new segment after refreshing', () => {
    const { owner, reader } = makePool();
    owner.allocate(60 * 1024);
    const big = owner.allocate(200 * 1024);
    assert.equal(big.segment, 1);
    assert.equal(owner.stats().segmentCount, 2);
    assert.equal(reader.segmentCount, 1);
    const at = reader.resolveOffset(big);
    assert.equal(at, L.BUFFERS_HEADER_SIZE + 64 * 1024);
    assert.equal(reader.segmentCount, 2);
    assert.equal(reader.segment(1)!.size, 200 * 1024); // max(growth 64 KiB, 200 KiB rounded to pages)
  });

  test('a pool at its reserve or its segment limit refuses with ERR_POOL_EXHAUSTED and counts the failure', () => {
    const { owner } = makePool({ reserve: 256 * 1024, maxSegments: 2, seg0: 64 * 1024, growth: 64 * 1024 });
    owner.allocate(64 * 1024);
    owner.allocate(64 * 1024); // segment 1
    assert.equal(code(() => owner.allocate(64)), 'ERR_POOL_EXHAUSTED');
    assert.equal(owner.tryAllocate(64), L.BUFFERS_ENOSPACE);
    assert.equal(owner.stats().failures, 2);
  });

  test('max_buffers live buffers refuse the next one with ETOOMANY, and a free makes room again', () => {
    const { owner } = makePool({ maxBuffers: 3 });
    const hs = [owner.allocate(1), owner.allocate(1), owner.allocate(1)];
    assert.equal(owner.tryAllocate(1), L.BUFFERS_ETOOMANY);
    owner.free(hs[1]!);
    assert.equal(typeof owner.tryAllocate(1), 'object');
  });

  test('generations are distinct and skip 0 when the counter wraps', () => {
    const { owner } = makePool();
    owner.setNextGenerationForTesting(0xffffffff);
    const a = owner.allocate(1), b = owner.allocate(1);
    assert.deepEqual([a.generation, b.generation], [0xffffffff, 1]);
  });

  test('a return frees only a lent buffer with the same segment, offset, length and generation; anything else is counted and changes nothing', () => {
    const { owner } = makePool();
    const h = owner.allocate(1000);
    assert.equal(owner.acceptReturn(h), false, 'a buffer the owner still holds cannot be returned');
    owner.lend(h);
    assert.equal(owner.acceptReturn({ ...h, generation: h.generation + 1 }), false, 'stale generation');
    assert.equal(owner.acceptReturn({ ...h, offset: h.offset + 64 }), false, 'forged offset');
    assert.equal(owner.acceptReturn({ ...h, length: h.length + 1 }), false, 'forged length');
    assert.equal(owner.acceptReturn({ ...h, reserved: 1 }), false, 'reserved bits');
    assert.equal(owner.stats().liveBuffers, 1);
    assert.equal(owner.acceptReturn(h), true);
    assert.equal(owner.acceptReturn(h), false, 'returned twice');
    assert.equal(owner.stats().invalidReturns, 6);
    assert.equal(owner.stats().liveBuffers, 0);
  });

  test('lend and free of a handle in the wrong state throw ERR_BUFFER_INVALID and change nothing', () => {
    const { owner } = makePool();
    const h = owner.allocate(10);
    owner.lend(h);
    assert.equal(code(() => owner.lend(h)), 'ERR_BUFFER_INVALID');
    assert.equal(code(() => owner.free(h)), 'ERR_BUFFER_INVALID', 'a lent buffer is the peer\'s until it comes back');
    assert.equal(code(() => owner.bytes(h)), 'ERR_BUFFER_INVALID', 'the owner does not write a lent buffer');
    assert.equal(owner.stats().lentBuffers, 1);
  });

  test('reclaimLent frees every buffer lent to a receiver that died, and only those', () => {
    const { owner } = makePool();
    const held = owner.allocate(10);
    const lent = [owner.allocate(10), owner.allocate(20), owner.allocate(30)];
    for (const h of lent) owner.lend(h);
    assert.equal(owner.acceptReturn(lent[1]!), true);
    assert.equal(owner.reclaimLent(), 2);
    assert.equal(owner.stats().liveBuffers, 1);
    owner.free(held);
  });

  test('the owner words in the file follow the owner (allocations, failures, live buffers, invalid returns, live bytes)', () => {
    const { owner, memory } = makePool({ maxBuffers: 1 });
    const h = owner.allocate(65);
    owner.tryAllocate(1);
    owner.acceptReturn(h);
    const v = new DataView(memory);
    assert.deepEqual(
      [L.BUFFERS_ALLOCATIONS_OFFSET, L.BUFFERS_FAILURES_OFFSET, L.BUFFERS_LIVE_BUFFERS_OFFSET, L.BUFFERS_INVALID_RETURNS_OFFSET].map((o) => v.getUint32(o, true)),
      [1, 1, 1, 1],
    );
    assert.equal(v.getBigUint64(L.BUFFERS_LIVE_BYTES_OFFSET, true), 128n);
  });

  test('bad arguments are ERR_INVALID_ARG sentences naming the argument, and leave the pool unchanged', () => {
    const { owner } = makePool();
    for (const bad of [0, -1, 1.5, 2 ** 32, Number.NaN, '4' as unknown as number]) {
      assert.throws(() => owner.allocate(bad), (e: BufferPoolError) => e.code === 'ERR_INVALID_ARG' && /'length'/.test(e.message));
    }
    assert.equal(owner.stats().allocations, 0);
    assert.throws(() => initBufferPool(new ArrayBuffer(8192), { reserveBytes: 8192, maxSegments: 17, maxBuffers: 1, segment0Bytes: 4096 }), /'init.maxSegments'/);
    assert.throws(() => PoolOwner.attach(new ArrayBuffer(8192), { growthBytes: 100 }), /'options.growthBytes'/);
  });
});

describe('buffer pool (§9): the allocator against a model', () => {
  test('any sequence of allocate, lend, return, free and reclaim keeps buffers disjoint, inside their segments and counted (fast-check)', () => {
    type Model = { live: Map<string, { h: BufferHandle; lent: boolean; rounded: number }> };
    const keyOf = (h: BufferHandle) => `${h.segment}:${h.offset}`;
    const check = (m: Model, r: ReturnType<typeof makePool>) => {
      const s = r.owner.stats();
      assert.equal(s.liveBuffers, m.live.size);
      assert.equal(s.lentBuffers, [...m.live.values()].filter((x) => x.lent).length);
      assert.equal(s.liveBytes, [...m.live.values()].reduce((a, x) => a + x.rounded, 0));
      const spans = [...m.live.values()].map(({ h, rounded }) => {
        const at = r.reader.resolveOffset(h);
        assert.ok(at >= L.BUFFERS_HEADER_SIZE && at + h.length <= r.fileSize(), 'inside the file');
        return [at, at + rounded] as const;
      }).sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++) assert.ok(spans[i - 1]![1] <= spans[i]![0], 'disjoint');
    };
    class Alloc implements fc.Command<Model, ReturnType<typeof makePool>> {
      constructor(readonly n: number) {}
      check = () => true;
      run(m: Model, r: ReturnType<typeof makePool>) {
        const h = r.owner.tryAllocate(this.n);
        if (typeof h === 'number') assert.ok(h === L.BUFFERS_ENOSPACE || h === L.BUFFERS_ETOOMANY);
        else m.live.set(keyOf(h), { h, lent: false, rounded: Math.ceil(this.n / 64) * 64 });
        check(m, r);
      }
      toString = () => `alloc(${this.n})`;
    }
    class Pick implements fc.Command<Model, ReturnType<typeof makePool>> {
      constructor(readonly op: 'lend' | 'return' | 'free' | 'forge', readonly i: number) {}
      check = (m: Model) => m.live.size > 0;
      run(m: Model, r: ReturnType<typeof makePool>) {
        const entry = [...m.live.values()][this.i % m.live.size]!;
        if (this.op === 'lend') {
          if (entry.lent) assert.equal(code(() => r.owner.lend(entry.h)), 'ERR_BUFFER_INVALID');
          else { r.owner.lend(entry.h); entry.lent = true; }
        } else if (this.op === 'return') {
          assert.equal(r.owner.acceptReturn(entry.h), entry.lent);
          if (entry.lent) m.live.delete(keyOf(entry.h));
        } else if (this.op === 'free') {
          if (entry.lent) assert.equal(code(() => r.owner.free(entry.h)), 'ERR_BUFFER_INVALID');
          else { r.owner.free(entry.h); m.live.delete(keyOf(entry.h)); }
        } else {
          assert.equal(r.owner.acceptReturn({ ...entry.h, generation: (entry.h.generation + 1) >>> 0 || 1 }), false);
        }
        check(m, r);
      }
      toString = () => `${this.op}(${this.i})`;
    }
    class Reclaim implements fc.Command<Model, ReturnType<typeof makePool>> {
      check = () => true;
      run(m: Model, r: ReturnType<typeof makePool>) {
        const lent = [...m.live.values()].filter((x) => x.lent);
        assert.equal(r.owner.reclaimLent(), lent.length);
        for (const x of lent) m.live.delete(keyOf(x.h));
        check(m, r);
      }
      toString = () => 'reclaim';
    }
    const commands = [
      fc.integer({ min: 1, max: 300 * 1024 }).map((n) => new Alloc(n)),
      fc.integer({ min: 1, max: 200 }).map((n) => new Alloc(n)),
      fc.tuple(fc.constantFrom('lend', 'return', 'free', 'forge' as const), fc.nat()).map(([op, i]) => new Pick(op, i)),
      fc.constant(new Reclaim()),
    ];
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 200 }), (cmds) => {
        fc.modelRun(() => ({ model: { live: new Map() }, real: makePool({ reserve: 2 * MiB, maxSegments: 6, maxBuffers: 40 }) }), cmds);
      }),
      { numRuns: 200 },
    );
  });
});

describe('buffer pool (§9.1): the receiver against a hostile peer', () => {
  test('no handle a peer can write resolves outside the pool: every accepted one lies in a validated segment inside the file (fuzzed)', () => {
    const pool = makePool({ reserve: 1 * MiB, maxSegments: 4 });
    pool.owner.allocate(60 * 1024);
    pool.owner.allocate(100 * 1024); // grows to segment 1
    const u64 = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 300000n }), fc.constantFrom(0n, 64n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 64n));
    const u32 = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 5 }), fc.constantFrom(0xffffffff, 65536, 102400));
    fc.assert(
      fc.property(u32, u32, u64, u32, fc.oneof(fc.constant(0), u32), (segment, generation, offset, length, reserved) => {
        const bytes = new Uint8Array(L.BUFFERS_HANDLE_SIZE);
        const v = new DataView(bytes.buffer);
        v.setUint32(0, segment, true); v.setUint32(4, generation, true); v.setBigUint64(8, offset, true);
        v.setUint32(16, length, true); v.setUint32(20, reserved, true);
        const h = decodeHandle(bytes);
        const at = pool.reader.resolveOffset(h);
        if (at >= 0) {
          const seg = pool.reader.segment(h.segment)!;
          assert.ok(at >= seg.offset && at + h.length <= seg.offset + seg.size, 'inside its segment');
          assert.ok(seg.offset + seg.size <= pool.fileSize() && at >= L.BUFFERS_HEADER_SIZE, 'inside the file');
          assert.equal(pool.reader.view(h).length, h.length);
        } else {
          assert.ok([L.BUFFERS_EHANDLE, L.BUFFERS_EBOUNDS].includes(at), `code ${at}`);
          assert.throws(() => pool.reader.view(h), (e: BufferPoolError) => e.code === 'ERR_BUFFER_INVALID');
        }
      }),
      { numRuns: 20000 },
    );
  });

  test('a segment table a peer rewrites after the reader validated it changes nothing; a new entry past the file or misplaced is refused', () => {
    const { owner, reader, memory } = makePool({ reserve: 1 * MiB });
    const h0 = owner.allocate(1000);
    const v = new DataView(memory);
    v.setBigUint64(L.BUFFERS_SEGMENT_TABLE_OFFSET + 8, 2n ** 40n, true); // segment 0 size, after the snapshot
    assert.equal(reader.resolveOffset({ ...h0, offset: 64 * 1024 }), L.BUFFERS_EBOUNDS, 'the snapshot, not the table, bounds it');
    // a hostile owner publishes segment 1 past the end of the file
    const words = new Uint32Array(memory);
    v.setBigUint64(L.BUFFERS_SEGMENT_TABLE_OFFSET + 16, BigInt(L.BUFFERS_HEADER_SIZE + 64 * 1024), true);
    v.setBigUint64(L.BUFFERS_SEGMENT_TABLE_OFFSET + 24, 512n * 1024n, true);
    Atomics.store(words, L.BUFFERS_SEGMENT_COUNT_OFFSET / 4, 2);
    assert.equal(reader.resolveOffset({ segment: 1, generation: 1, offset: 0, length: 1 }), L.BUFFERS_ESEGMENT);
    v.setBigUint64(L.BUFFERS_SEGMENT_TABLE_OFFSET + 16, BigInt(L.BUFFERS_HEADER_SIZE), true); // overlapping segment 0
    assert.equal(reader.resolveOffset({ segment: 1, generation: 1, offset: 0, length: 1 }), L.BUFFERS_ESEGMENT);
    Atomics.store(words, L.BUFFERS_SEGMENT_COUNT_OFFSET / 4, 0);
    assert.equal(reader.resolveOffset({ segment: 1, generation: 1, offset: 0, length: 1 }), L.BUFFERS_ECOUNT, 'a count below the snapshot');
    assert.equal(reader.segmentCount, 1);
    assert.ok(reader.resolveOffset(h0) >= 0, 'what was validated stays usable');
  });

  test('a descriptor that fails any check is refused at attach with the check named', () => {
    const cases: Array<[string, (v: DataView) => void, number]> = [
      ['magic', (v) => v.setUint32(L.BUFFERS_MAGIC_OFFSET, 0, true), L.BUFFERS_EMAGIC],
      ['version', (v) => v.setUint16(L.BUFFERS_VERSION_OFFSET, 2, true), L.BUFFERS_EVERSION],
      ['header size', (v) => v.setUint16(L.BUFFERS_HEADER_SIZE_OFFSET, 512, true), L.BUFFERS_EHEADERSIZE],
      ['flags', (v) => v.setUint32(L.BUFFERS_FLAGS_OFFSET, 1, true), L.BUFFERS_EFLAGS],
      ['max segments', (v) => v.setUint32(L.BUFFERS_MAX_SEGMENTS_OFFSET, 17, true), L.BUFFERS_ELIMITS],
      ['reserve past the mapping', (v) => v.setBigUint64(L.BUFFERS_RESERVE_BYTES_OFFSET, 8n * 1024n * 1024n, true), L.BUFFERS_ELIMITS],
      ['unaligned reserve', (v) => v.setBigUint64(L.BUFFERS_RESERVE_BYTES_OFFSET, 8193n, true), L.BUFFERS_ELIMITS],
      ['max buffers', (v) => v.setUint32(L.BUFFERS_MAX_BUFFERS_OFFSET, 0, true), L.BUFFERS_ELIMITS],
      ['segment count', (v) => v.setUint32(L.BUFFERS_SEGMENT_COUNT_OFFSET, 0, true), L.BUFFERS_ECOUNT],
      ['segment 0 offset', (v) => v.setBigUint64(L.BUFFERS_SEGMENT_TABLE_OFFSET, 8192n, true), L.BUFFERS_ESEGMENT],
    ];
    for (const [name, corrupt, expected] of cases) {
      const { memory } = makePool();
      corrupt(new DataView(memory));
      assert.equal(PoolReader.tryAttach(memory), expected, name);
      assert.throws(() => PoolReader.attach(memory), (e: BufferPoolError) => e.code === 'ERR_BUFFER_INVALID' && /^The buffer pool /.test(e.message), name);
    }
  });

  test('a handle survives the trip through its 24-byte wire image', () => {
    const bytes = new Uint8Array(30);
    const h = { segment: 3, generation: 0xfffffffe, offset: 2 ** 39 + 64, length: 0xffffffff, reserved: 0 };
    encodeHandle(h, bytes, 6);
    assert.deepEqual(decodeHandle(bytes, 6), h);
    assert.throws(() => decodeHandle(bytes, 7), (e: BufferPoolError) => e.code === 'ERR_INVALID_ARG');
  });
});
