import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Ring, SharedRegion, RegionError, regionLayout as L, ringLayout as R } from '../src/index.js';
import { startThreadPeer } from '../src/testing/peers.js';
import { nativeExecutable } from '../src/sidecar/paths.js';

const CHILD = fileURLToPath(new URL('./helpers/region-child.js', import.meta.url));
const SIZE = 64 * 1024;

/** Our mappings and fds are recognisable by name: memfd "native-sidecar", shm "/native-sidecar-…" or "/ns-test-…". */
function isOurs(target: string): boolean {
  return target.includes('memfd:native-sidecar') || target.includes('/dev/shm/native-sidecar') || target.includes('/dev/shm/ns-test-');
}
function countOurFds(): number {
  let n = 0;
  for (const entry of readdirSync('/proc/self/fd')) {
    try {
      if (isOurs(readlinkSync(`/proc/self/fd/${entry}`))) n++;
    } catch {
      // the fd of readdir itself is gone by now
    }
  }
  return n;
}
function countOurMappings(): number {
  return readFileSync('/proc/self/maps', 'utf8').split('\n').filter(isOurs).length;
}
function testName(): string {
  return `/ns-test-${process.pid}-${Math.random().toString(16).slice(2)}`;
}
function shmFiles(): string[] {
  return readdirSync('/dev/shm').filter((f) => f.startsWith('ns-test-') || f.startsWith('native-sidecar-'));
}

describe('SharedRegion', () => {
  test('an anonymous region starts with a valid header and no segments', () => {
    using region = SharedRegion.create({ size: SIZE });
    assert.equal(region.size, SIZE);
    assert.equal(region.name, undefined);
    assert.ok(region.fd >= 0);
    assert.equal(region.buffer.byteLength, SIZE);
    assert.deepEqual(region.segments, []);
    const view = new DataView(region.buffer);
    assert.equal(view.getUint32(L.REGION_MAGIC_OFFSET, true), L.REGION_MAGIC);
    assert.equal(view.getUint16(L.REGION_VERSION_OFFSET, true), L.REGION_VERSION);
    assert.equal(view.getUint16(L.REGION_HEADER_SIZE_OFFSET, true), L.REGION_HEADER_SIZE);
    assert.equal(view.getUint32(L.REGION_SIZE_OFFSET, true), SIZE);
    assert.equal(view.getUint32(L.REGION_SEGMENT_COUNT_OFFSET, true), 0);
    assert.equal(view.getUint32(L.REGION_CREATOR_PID_OFFSET, true), process.pid);
  });

  test('addSegment refuses reserved kinds 3 … 0xFFFF and accepts 1, 2 and user kinds (issue 8, rule 3)', () => {
    using region = SharedRegion.create({ size: SIZE });
    for (const kind of [3, 0x100, 0xffff]) assert.throws(() => region.addSegment(kind, 128), { code: 'ERR_INVALID_ARG' });
    for (const kind of [L.SEGMENT_KIND_RING, L.SEGMENT_KIND_SIDECAR_CONTROL, L.SEGMENT_KIND_USER_MIN, 0xffffffff]) region.addSegment(kind, 128);
    using opened = SharedRegion.fromFd(region.fd);
    assert.equal(opened.segments.length, 4);
  });

  test('a ring segment larger than 512 + capacity is accepted; the extra bytes are not the ring\'s (issue 8, rule 3)', () => {
    using region = SharedRegion.create({ size: SIZE });
    const segment = region.addSegment(L.SEGMENT_KIND_RING, R.RING_HEADER_SIZE + 1024 + 4096);
    Ring.create(region.buffer, { capacity: 1024, byteOffset: segment.offset });
    const extra = new Uint8Array(region.buffer, segment.offset + R.RING_HEADER_SIZE + 1024, 4096).fill(0x5a);
    const ring = region.ring(segment.index);
    assert.equal(ring.capacity, 1024);
    for (let i = 0; i < 100; i++) {
      assert.equal(ring.tryWrite(1, new Uint8Array(300)), true);
      assert.equal(ring.drain(() => undefined), 1);
    }
    assert.ok(extra.every((b) => b === 0x5a), 'the ring never touches the bytes after 512 + capacity');
  });

  test('a ring segment too small for a ring header is ERR_RING_CORRUPT wherever it lies (issue 8, rule 2)', () => {
    using region = SharedRegion.create({ size: 4096 });
    const middle = region.addSegment(L.SEGMENT_KIND_RING, 256); // at 256, followed by another segment
    region.addSegment(0x10000, 4096 - 512 - 256); // user segment up to 3840
    const end = region.addSegment(L.SEGMENT_KIND_RING, 256); // at 3840, ends with the region
    assert.equal(end.offset + end.size, 4096);
    for (const segment of [middle, end]) {
      assert.throws(() => region.ring(segment.index), (e: unknown) => {
        assert.ok(e instanceof Error && (e as { code?: string }).code === 'ERR_RING_CORRUPT', String(e));
        return true;
      });
    }
    // Ring.attach on the buffer: fewer than a header's bytes from byteOffset is the same code; an offset past the
    // buffer is an argument error.
    assert.throws(() => Ring.attach(region.buffer, { byteOffset: end.offset }), { code: 'ERR_RING_CORRUPT' });
    assert.throws(() => Ring.attach(region.buffer, { byteOffset: 4096 }), { code: 'ERR_RING_CORRUPT' });
    assert.throws(() => Ring.attach(region.buffer, { byteOffset: 4096 + 128 }), { code: 'ERR_INVALID_ARG' });
  });

  test('an anonymous region is a memfd private to the process and sealed against resizing', () => {
    using region = SharedRegion.create({ size: SIZE });
    const link = readlinkSync(`/proc/self/fd/${region.fd}`);
    assert.match(link, /^\/memfd:native-sidecar/);
    const flags = readFileSync(`/proc/self/fdinfo/${region.fd}`, 'utf8');
    // O_CLOEXEC (02000000 octal) is set: a child gets the fd only when it is passed deliberately.
    const octal = /flags:\s+([0-7]+)/.exec(flags)?.[1];
    assert.ok(octal !== undefined && (parseInt(octal, 8) & 0o2000000) !== 0, `close-on-exec set in ${flags}`);
    // Sealed: whoever holds the fd cannot shrink the file under our mapping (which would make our accesses fault).
    assert.throws(() => ftruncateSync(region.fd, 4096), { code: 'EPERM' });
    assert.throws(() => ftruncateSync(region.fd, 2 * SIZE), { code: 'EPERM' });
  });

  test('sizes outside 4096..2^31 or not integers are refused naming the argument', () => {
    for (const size of [0, 4095, L.REGION_MAX_SIZE + 1, 4096.5, Number.NaN, '8192', undefined]) {
      assert.throws(() => SharedRegion.create({ size: size as number }), (e: unknown) => {
        assert.equal((e as RegionError).code, 'ERR_INVALID_ARG');
        assert.match((e as Error).message, /options\.size/);
        return true;
      });
    }
    assert.throws(() => SharedRegion.create(null as never), { code: 'ERR_INVALID_ARG' });
  });

  test('names that are not "/" plus 1..254 characters without "/" are refused naming the argument', () => {
    for (const name of ['noslash', '/a/b', '/', '/' + 'x'.repeat(255), '/.', '/..', 'a\0b']) {
      assert.throws(() => SharedRegion.create({ size: SIZE, name }), (e: unknown) => {
        assert.equal((e as RegionError).code, 'ERR_INVALID_ARG');
        assert.match((e as Error).message, /'name'/);
        return true;
      });
      assert.throws(() => SharedRegion.open(name, { trustPeer: true }), { code: 'ERR_INVALID_ARG' });
    }
    assert.throws(() => SharedRegion.create({ size: SIZE, name: 42 as never }), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => SharedRegion.open(undefined as never), { code: 'ERR_INVALID_ARG' });
    assert.deepEqual(shmFiles(), []);
  });

  test('a named region is opened by name, shares memory, is mode 0600, and is gone after unlink', () => {
    const before = shmFiles();
    using creator = SharedRegion.create({ size: SIZE, name: true });
    const name = creator.name;
    assert.ok(name !== undefined);
    assert.match(name, /^\/native-sidecar-[0-9a-f]{32}$/);
    assert.equal(statSync(`/dev/shm${name}`).mode & 0o777, 0o600);
    using opened = SharedRegion.open(name, { trustPeer: true });
    assert.equal(opened.size, SIZE);
    new Uint8Array(creator.buffer)[1000] = 42;
    assert.equal(new Uint8Array(opened.buffer)[1000], 42);
    creator.unlink();
    assert.equal(existsSync(`/dev/shm${name}`), false);
    assert.deepEqual(shmFiles(), before);
    // Existing mappings survive the unlink; opening by name no longer works.
    assert.equal(new Uint8Array(opened.buffer)[1000], 42);
    assert.throws(() => SharedRegion.open(name, { trustPeer: true }), (e: unknown) => {
      const err = e as RegionError;
      assert.equal(err.code, 'ERR_SYSTEM');
      assert.equal(err.errno, 2); // ENOENT
      assert.equal(err.syscall, 'shm_open');
      assert.ok(err instanceof RegionError);
      return true;
    });
  });

  test('two random names differ, and creating a name that exists fails with EEXIST and leaves it intact', () => {
    using a = SharedRegion.create({ size: SIZE, name: true });
    using b = SharedRegion.create({ size: SIZE, name: true });
    assert.notEqual(a.name, b.name);
    const name = testName();
    using first = SharedRegion.create({ size: SIZE, name });
    try {
      new Uint8Array(first.buffer)[300] = 9;
      assert.throws(() => SharedRegion.create({ size: 2 * SIZE, name }), { code: 'ERR_SYSTEM', errno: 17, syscall: 'shm_open' });
      using again = SharedRegion.open(name, { trustPeer: true });
      assert.equal(again.size, SIZE);
      assert.equal(new Uint8Array(again.buffer)[300], 9);
    } finally {
      first.unlink();
      a.unlink();
      b.unlink();
    }
    assert.deepEqual(shmFiles(), []);
  });

  test('fromFd maps the same memory on its own duplicate, leaving the caller its fd', () => {
    using region = SharedRegion.create({ size: SIZE });
    const other = SharedRegion.fromFd(region.fd);
    assert.notEqual(other.fd, region.fd);
    new Uint32Array(other.buffer)[100] = 0xdeadbeef;
    assert.equal(new Uint32Array(region.buffer)[100], 0xdeadbeef);
    other.close();
    assert.ok(fstatSync(region.fd).size === SIZE, 'the caller fd is still open');
    assert.equal(new Uint32Array(region.buffer)[100], 0xdeadbeef);
  });

  test('fromFd refuses bad fds: not a number, closed, not a shared memory file, too small, no header', () => {
    assert.throws(() => SharedRegion.fromFd(-1), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => SharedRegion.fromFd(1.5), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => SharedRegion.fromFd(1_000_000), { code: 'ERR_SYSTEM', errno: 9, syscall: 'fcntl' });
    const devNull = openSync('/dev/null', 'r+');
    const dir = mkdtempSync(join(tmpdir(), 'ns-region-'));
    try {
      assert.throws(() => SharedRegion.fromFd(devNull), { code: 'ERR_REGION_INVALID' });
      const small = join(dir, 'small');
      writeFileSync(small, Buffer.alloc(100));
      const smallFd = openSync(small, 'r+');
      assert.throws(() => SharedRegion.fromFd(smallFd, { trustPeer: true }), { code: 'ERR_REGION_INVALID' });
      closeSync(smallFd);
      const zeros = join(dir, 'zeros');
      writeFileSync(zeros, Buffer.alloc(8192));
      const zerosFd = openSync(zeros, 'r+');
      assert.throws(() => SharedRegion.fromFd(zerosFd, { trustPeer: true }), (e: unknown) => {
        assert.equal((e as RegionError).code, 'ERR_REGION_INVALID');
        assert.match((e as Error).message, /magic/);
        return true;
      });
      closeSync(zerosFd);
    } finally {
      closeSync(devNull);
      rmSync(dir, { recursive: true });
    }
  });

  test('addSegment bump-allocates 128-aligned entries that an opener sees in its validated table', () => {
    using region = SharedRegion.create({ size: SIZE });
    const a = region.addSegment(L.SEGMENT_KIND_RING, 1000);
    const b = region.addSegment(L.SEGMENT_KIND_USER_MIN + 5, 1);
    const c = region.addSegment(L.SEGMENT_KIND_SIDECAR_CONTROL, 128);
    assert.deepEqual([a.index, a.offset, a.size], [0, L.REGION_HEADER_SIZE, 1000]);
    assert.deepEqual([b.index, b.offset], [1, L.REGION_HEADER_SIZE + 1024]);
    assert.deepEqual([c.index, c.offset], [2, L.REGION_HEADER_SIZE + 1024 + L.SEGMENT_ALIGN]);
    using opened = SharedRegion.fromFd(region.fd);
    assert.deepEqual(opened.segments, region.segments);
    assert.throws(() => opened.addSegment(L.SEGMENT_KIND_RING, 1024), { code: 'ERR_INVALID_STATE' });
  });

  test('addSegment refuses a bad kind or size, a segment that does not fit, and a full table', () => {
    using region = SharedRegion.create({ size: 8192 });
    assert.throws(() => region.addSegment(0, 100), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => region.addSegment(1, 0), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => region.addSegment(1, 8192 - L.REGION_HEADER_SIZE + 1), (e: unknown) => {
      assert.equal((e as RegionError).code, 'ERR_INVALID_ARG');
      assert.match((e as Error).message, /'size'.*7936/);
      return true;
    });
    assert.equal(region.segments.length, 0, 'a refused segment leaves no entry');
    for (let i = 0; i < L.REGION_MAX_SEGMENTS; i++) region.addSegment(1, 100);
    assert.throws(() => region.addSegment(1, 100), { code: 'ERR_INVALID_STATE' });
    using opened = SharedRegion.fromFd(region.fd);
    assert.equal(opened.segments.length, L.REGION_MAX_SEGMENTS);
  });

  test('createRing adds an initialised ring segment that an opener attaches by index', async () => {
    using region = SharedRegion.create({ size: 64 * 1024 });
    region.addSegment(L.SEGMENT_KIND_USER_MIN, 100);
    const ring = region.createRing(4096, { waitPolicy: { mode: 'spin' } });
    const segment = region.segments[1]!;
    assert.equal(segment.kind, L.SEGMENT_KIND_RING);
    assert.equal(segment.size, Ring.segmentSize(4096));
    assert.equal(segment.offset % L.SEGMENT_ALIGN, 0);
    using opened = SharedRegion.fromFd(region.fd);
    const peer = opened.ring(1, { waitPolicy: { mode: 'spin' } });
    assert.equal(peer.capacity, 4096);
    assert.equal(ring.tryWrite(7, new Uint8Array([1, 2, 3])), true);
    const record = peer.peek();
    assert.deepEqual([record?.type, [...(record?.payload ?? [])]], [7, [1, 2, 3]]);
    assert.throws(() => opened.ring(0), { code: 'ERR_INVALID_ARG' }, 'segment 0 is not a ring');
    assert.throws(() => opened.ring(2), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => opened.createRing(4096), { code: 'ERR_INVALID_STATE' });
  });

  test('a ring whose descriptor claims more than its segment is refused with ERR_RING_CORRUPT', () => {
    using region = SharedRegion.create({ size: 64 * 1024 });
    region.createRing(4096);
    region.addSegment(L.SEGMENT_KIND_USER_MIN, 8192);
    const offset = region.segments[0]!.offset;
    new DataView(region.buffer).setUint32(offset + R.RING_CAPACITY_OFFSET, 8192, true);
    using opened = SharedRegion.fromFd(region.fd);
    assert.throws(() => opened.ring(0), { code: 'ERR_RING_CORRUPT' });
  });

  test('closing a region while a native thread uses it only detaches the buffer; the unmap waits for the thread', async () => {
    const maps = countOurMappings();
    const region = SharedRegion.create({ size: 64 * 1024 });
    region.createRing(16 * 1024);
    const peer = startThreadPeer(region, { mode: 'produce', output: 0, count: 1_000_000, maxLength: 64, waitPolicy: { mode: 'park' } });
    region.close();
    assert.throws(() => region.buffer, { code: 'ERR_REGION_CLOSED' });
    assert.equal(countOurMappings(), maps + 1, 'still mapped while the peer runs');
    await new Promise((r) => setTimeout(r, 20)); // the peer fills the ring (nobody reads) and parks
    peer.stop();
    const result = await peer.done;
    assert.equal(result.code, 'stopped');
    assert.ok(result.records > 0);
    assert.equal(countOurMappings(), maps, 'unmapped once the peer finished');
  });

  describe('a region whose header is invalid is refused with ERR_REGION_INVALID', () => {
    const seg = (i: number, field: number): number => L.REGION_SEGMENTS_OFFSET + i * L.SEGMENT_ENTRY_SIZE + field;
    const cases: Array<[string, (v: DataView) => void]> = [
      ['wrong magic', (v) => v.setUint32(L.REGION_MAGIC_OFFSET, 0x12345678, true)],
      ['wrong version', (v) => v.setUint16(L.REGION_VERSION_OFFSET, L.REGION_VERSION + 1, true)],
      ['wrong header size', (v) => v.setUint16(L.REGION_HEADER_SIZE_OFFSET, 128, true)],
      ['region size not the mapping size', (v) => v.setUint32(L.REGION_SIZE_OFFSET, SIZE / 2, true)],
      ['too many segments', (v) => v.setUint32(L.REGION_SEGMENT_COUNT_OFFSET, L.REGION_MAX_SEGMENTS + 1, true)],
      ['a segment of kind 0', (v) => v.setUint32(seg(1, L.SEGMENT_KIND_OFFSET), 0, true)],
      ['a misaligned segment', (v) => v.setUint32(seg(1, L.SEGMENT_OFFSET_OFFSET), 4096 + 8, true)],
      ['a segment inside the header', (v) => v.setUint32(seg(0, L.SEGMENT_OFFSET_OFFSET), 128, true)],
      ['a segment of size 0', (v) => v.setUint32(seg(1, L.SEGMENT_SIZE_OFFSET), 0, true)],
      ['a segment past the end', (v) => v.setUint32(seg(1, L.SEGMENT_SIZE_OFFSET), SIZE, true)],
      ['a segment whose end overflows 32 bits', (v) => {
        v.setUint32(seg(1, L.SEGMENT_OFFSET_OFFSET), 0xffffff80, true);
        v.setUint32(seg(1, L.SEGMENT_SIZE_OFFSET), 0x100, true);
      }],
      ['overlapping segments', (v) => v.setUint32(seg(1, L.SEGMENT_OFFSET_OFFSET), L.REGION_HEADER_SIZE + 512, true)],
      ['a count that includes an empty entry', (v) => v.setUint32(L.REGION_SEGMENT_COUNT_OFFSET, 3, true)],
      // §1 "Reserved values" (issue 8, rule 3): the reserved flags word and kinds 3 … 0xFFFF are refused
      ['reserved region flags set', (v) => v.setUint32(L.REGION_FLAGS_OFFSET, 1, true)],
      ['reserved region flags, high bit', (v) => v.setUint32(L.REGION_FLAGS_OFFSET, 0x80000000, true)],
      ['a segment of reserved kind 3', (v) => v.setUint32(seg(1, L.SEGMENT_KIND_OFFSET), 3, true)],
      ['a segment of reserved kind 0xFFFF', (v) => v.setUint32(seg(1, L.SEGMENT_KIND_OFFSET), 0xffff, true)],
    ];
    for (const [what, poke] of cases) {
      test(what, () => {
        using region = SharedRegion.create({ size: SIZE });
        region.addSegment(L.SEGMENT_KIND_RING, 1024);
        region.addSegment(L.SEGMENT_KIND_RING, 1024);
        using valid = SharedRegion.fromFd(region.fd); // the unpoked header is fine
        assert.equal(valid.segments.length, 2);
        poke(new DataView(region.buffer));
        const fds = countOurFds();
        const maps = countOurMappings();
        assert.throws(() => SharedRegion.fromFd(region.fd), (e: unknown) => {
          assert.ok(e instanceof RegionError);
          assert.equal(e.code, 'ERR_REGION_INVALID');
          assert.match(e.message, /^The region at file descriptor \d+ is invalid: /);
          return true;
        });
        assert.equal(countOurFds(), fds, 'a refused region leaves no fd open');
        assert.equal(countOurMappings(), maps, 'a refused region leaves nothing mapped');
      });
    }
  });

  test('a ring segment whose offset is not a multiple of 128 is refused: ERR_REGION_INVALID in TypeScript, NS_REGION_ESEGMENT in C, and Ring.create/attach refuse such a byteOffset with ERR_INVALID_ARG (wire-format §1, §2, §7)', async () => {
    using region = SharedRegion.create({ size: SIZE });
    const ring = region.createRing(1024);
    const segment = region.segments[0]!;
    // The ring copied 8 bytes further: still 8-byte aligned (enough for correctness, §2), no longer on a block.
    const bytes = new Uint8Array(region.buffer);
    bytes.copyWithin(segment.offset + 8, segment.offset, segment.offset + segment.size);
    new DataView(region.buffer).setUint32(L.REGION_SEGMENTS_OFFSET + L.SEGMENT_OFFSET_OFFSET, segment.offset + 8, true);
    assert.throws(() => SharedRegion.fromFd(region.fd), (e: unknown) => {
      assert.ok(e instanceof RegionError && e.code === 'ERR_REGION_INVALID', String(e));
      assert.match(e.message, /misaligned offset/);
      return true;
    });
    const child = spawn(nativeExecutable('region_handover_peer'), ['map', '3'], { stdio: ['ignore', 'pipe', 'inherit', region.fd] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    // 'close', not 'exit': the exit may be reported before the last output is read.
    assert.equal(await new Promise((resolve) => child.once('close', resolve)), 0);
    const NS_REGION_ESEGMENT = -6;
    assert.match(out.trim(), new RegExp(`^refused ${NS_REGION_ESEGMENT} .*misaligned offset`));
    // The TypeScript Ring asks for a block-aligned byteOffset in any buffer, region or not.
    for (const byteOffset of [segment.offset + 8, segment.offset + 64]) {
      assert.throws(() => Ring.attach(region.buffer, { byteOffset }), (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARG' && /'byteOffset'.*multiple of 128/.test(String(e)));
      assert.throws(() => Ring.create(region.buffer, { byteOffset, capacity: 1024 }), (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARG' && /'byteOffset'.*multiple of 128/.test(String(e)));
    }
    assert.equal(ring.capacity, 1024);
  });

  test('use after close is ERR_REGION_CLOSED, old views read as empty, and close is idempotent', () => {
    const region = SharedRegion.create({ size: SIZE, name: true });
    const bytes = new Uint8Array(region.buffer);
    const words = new Int32Array(region.buffer);
    bytes[500] = 1;
    region.close();
    region.close();
    region[Symbol.dispose]();
    assert.equal(region.closed, true);
    assert.throws(() => region.buffer, { code: 'ERR_REGION_CLOSED' });
    assert.throws(() => region.fd, { code: 'ERR_REGION_CLOSED' });
    assert.throws(() => region.segments, { code: 'ERR_REGION_CLOSED' });
    assert.throws(() => region.addSegment(1, 1024), { code: 'ERR_REGION_CLOSED' });
    assert.equal(bytes.length, 0);
    assert.equal(bytes[500], undefined);
    assert.throws(() => Atomics.load(words, 0), TypeError);
    // Size and name stay readable, so that the name can still be unlinked.
    assert.equal(region.size, SIZE);
    region.unlink();
    using anonymous = SharedRegion.create({ size: SIZE });
    assert.throws(() => anonymous.unlink(), { code: 'ERR_INVALID_STATE' });
  });

  test('a worker thread maps the same memory by fd and by name and sees writes both ways', async () => {
    using region = SharedRegion.create({ size: SIZE, name: true });
    try {
      const bytes = new Uint8Array(region.buffer);
      for (const [how, target, offset] of [['named-fd', region.fd, 2000], ['name', region.name, 3000]] as const) {
        bytes[offset] = 77;
        const worker = new Worker(CHILD, { workerData: { how, target, offset } });
        const reply = await new Promise<{ seen: number; size: number }>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        });
        await new Promise((resolve) => worker.once('exit', resolve));
        assert.equal(reply.seen, 77, `worker (${how}) sees the main thread's write`);
        assert.equal(reply.size, SIZE);
        assert.equal(bytes[offset + 1], 78, `main thread sees the worker's (${how}) write`);
      }
    } finally {
      region.unlink();
    }
  });

  test('a child process gets the fd at spawn and sees writes both ways', async () => {
    using region = SharedRegion.create({ size: SIZE });
    region.addSegment(L.SEGMENT_KIND_RING, 2048);
    const bytes = new Uint8Array(region.buffer);
    bytes[5000] = 200;
    const child = spawn(process.execPath, [CHILD, 'fd', '3', '5000'], { stdio: ['ignore', 'pipe', 'inherit', region.fd] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(out), { seen: 200, size: SIZE, segments: 1 });
    assert.equal(bytes[5001], 201);
  });

  test('200 create/close cycles of each kind leave no fds or mappings behind, nor names in /dev/shm', () => {
    const cycle = (): void => {
      const anon = SharedRegion.create({ size: SIZE });
      const copy = SharedRegion.fromFd(anon.fd);
      copy.close();
      anon.close();
      const named = SharedRegion.create({ size: SIZE, name: true });
      const opened = SharedRegion.open(named.name!, { trustPeer: true });
      named.unlink();
      opened.close();
      named.close();
    };
    cycle();
    const fds = countOurFds();
    const maps = countOurMappings();
    for (let i = 0; i < 200; i++) cycle();
    assert.equal(countOurFds(), fds);
    assert.equal(countOurMappings(), maps);
    assert.deepEqual(shmFiles(), []);
  });

  test('regions that are garbage collected without close are unmapped and their fds closed', () => {
    const script = `
      import { SharedRegion } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
      import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
      const ours = (s) => s.includes('memfd:native-sidecar');
      const maps = () => readFileSync('/proc/self/maps', 'utf8').split('\\n').filter(ours).length;
      const fds = () => readdirSync('/proc/self/fd').filter((f) => { try { return ours(readlinkSync('/proc/self/fd/' + f)); } catch { return false; } }).length;
      (() => { for (let i = 0; i < 50; i++) new Uint8Array(SharedRegion.create({ size: 65536 }).buffer)[0] = 1; })();
      const before = maps();
      for (let i = 0; i < 20 && (maps() > 0 || fds() > 0); i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log(JSON.stringify({ before, maps: maps(), fds: fds() }));
    `;
    const result = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 0, result.stderr);
    const counts = JSON.parse(result.stdout) as { before: number; maps: number; fds: number };
    assert.equal(counts.before, 50);
    assert.equal(counts.maps, 0);
    assert.equal(counts.fds, 0);
  });
});
