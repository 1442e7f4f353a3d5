/**
 * "The original design" for reference: the seed of this project used an unframed byte ring whose consumer polled it
 * and slept 1 ms (Thread.Sleep(1)) whenever it was empty, with a `%` wrap. Here the JavaScript producer writes into
 * such a ring in a memfd region (SharedRegion) and the consumer is the C program bench_original_ring
 * (native/bench/original_ring.c, which documents the layout and the memory-ordering edges), a child process that
 * sleeps usleep(1000) whenever its ring is empty. In echo mode it copies the bytes into a reply ring that this side
 * polls once per event-loop turn (setImmediate; no sleep on the JavaScript side, the most favourable reading).
 * The structure is a benchmark reference, not part of the wire format (docs/wire-format.md describes the product's).
 *
 * The consumer's mode is fixed when it starts, so switching between echo and one way starts a new consumer.
 * Main JavaScript thread only. A consumer that dies rejects the pending call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

import { SharedRegion } from '../../src/index.js';
import type { CpuSides } from '../lib/cpu.js';
import type { MessageLink } from './alt-link.js';
import { childSides, nowNs, tick, type OneWayPhase } from './alt-measure.js';

/** Kept equal to ORIG_SEGMENT_KIND, ORIG_HEADER and ORIG_RING_BYTES of native/bench/original_ring.c. */
const SEGMENT_KIND = 0x10042;
const HEADER = 192;
/** Bytes of each ring: not a power of two, so the `%` wrap is a real division as in the original. */
export const ORIGINAL_CAPACITY = 4_000_000;
const ringBytes = (cap: number): number => Math.ceil((HEADER + cap) / 128) * 128;

/** One byte ring's view: int32 words capacity (0), stop (1), write_pos (16), read_pos (32); data from HEADER. */
class ByteRing {
  readonly i32: Int32Array;
  readonly data: Uint8Array;
  constructor(
    buffer: ArrayBuffer,
    offset: number,
    readonly cap: number,
  ) {
    this.i32 = new Int32Array(buffer, offset, HEADER / 4);
    this.data = new Uint8Array(buffer, offset + HEADER, cap);
  }

  /** Producer: copies up to all of `src[from..]` that fits; returns the bytes written. */
  write(src: Uint8Array, from: number): number {
    const w = Atomics.load(this.i32, 16);
    const r = Atomics.load(this.i32, 32); // [pairs with the consumer's release store of read_pos]
    if (w < 0 || w >= this.cap || r < 0 || r >= this.cap) throw new Error(`A byte-ring position is out of range (write ${w}, read ${r}).`);
    const room = (r - w - 1 + this.cap) % this.cap;
    const n = Math.min(room, src.byteLength - from);
    if (n <= 0) return 0;
    const first = Math.min(n, this.cap - w);
    this.data.set(src.subarray(from, from + first), w);
    if (n > first) this.data.set(src.subarray(from + first, from + n), 0);
    Atomics.store(this.i32, 16, (w + n) % this.cap); // [pairs with the consumer's acquire load of write_pos]
    return n;
  }

  /** Consumer: copies what is there, up to `dst.byteLength - at` bytes, into dst[at..]; returns the bytes read. */
  read(dst: Uint8Array, at: number): number {
    const w = Atomics.load(this.i32, 16); // [pairs with the C producer's release store of write_pos]
    const r = Atomics.load(this.i32, 32);
    if (w < 0 || w >= this.cap || r < 0 || r >= this.cap) throw new Error(`A byte-ring position is out of range (write ${w}, read ${r}).`);
    const n = Math.min((w - r + this.cap) % this.cap, dst.byteLength - at);
    if (n <= 0) return 0;
    const first = Math.min(n, this.cap - r);
    dst.set(this.data.subarray(r, r + first), at);
    if (n > first) dst.set(this.data.subarray(0, n - first), at + first);
    Atomics.store(this.i32, 32, (r + n) % this.cap); // [pairs with the C producer's acquire load of read_pos]
    return n;
  }

  /** Bytes written and not yet read. */
  used(): number {
    return (Atomics.load(this.i32, 16) - Atomics.load(this.i32, 32) + this.cap) % this.cap;
  }
}

interface Consumer {
  mode: 'echo' | 'sink';
  region: SharedRegion;
  req: ByteRing;
  rep: ByteRing;
  child: ChildProcess;
  sides: CpuSides;
  failure: Error | undefined;
}

async function startConsumer(bin: string, mode: 'echo' | 'sink'): Promise<Consumer> {
  const cap = ORIGINAL_CAPACITY;
  const region = SharedRegion.create({ size: Math.ceil((256 + 128 * 4 + 2 * ringBytes(cap)) / 4096) * 4096 });
  const seg = region.addSegment(SEGMENT_KIND, 2 * ringBytes(cap));
  const req = new ByteRing(region.buffer, seg.offset, cap);
  const rep = new ByteRing(region.buffer, seg.offset + ringBytes(cap), cap);
  req.i32[0] = cap;
  rep.i32[0] = cap;
  const child = spawn(bin, [mode], { stdio: ['ignore', 'ignore', 'inherit', region.fd] });
  const c: Consumer = { mode, region, req, rep, child, sides: childSides(-1), failure: undefined };
  child.on('exit', (code, signal) => (c.failure ??= new Error(`bench_original_ring exited (code ${code}, signal ${signal}).`)));
  const [spawnError] = await Promise.race([once(child, 'spawn').then(() => [undefined]), once(child, 'error')]);
  if (spawnError !== undefined) {
    region.close();
    throw spawnError as Error;
  }
  c.sides = childSides(child.pid as number);
  return c;
}

async function stopConsumer(c: Consumer): Promise<void> {
  if (c.child.exitCode === null && c.child.signalCode === null) {
    const exited = once(c.child, 'exit');
    Atomics.store(c.req.i32, 1, 1);
    const timer = setTimeout(() => c.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
  c.region.close();
}

/** Starts the link; `bin` is the path of bench_original_ring. */
export async function originalRing(bin: string): Promise<MessageLink> {
  let c = await startConsumer(bin, 'echo');
  const use = async (mode: 'echo' | 'sink'): Promise<Consumer> => {
    if (c.mode !== mode) {
      await stopConsumer(c);
      c = await startConsumer(bin, mode);
    }
    return c;
  };
  let recv = new Uint8Array(0);
  return {
    // Live: the consumer changes when the mode does, and the loops read the sides after their warm-up.
    sides: { js: () => c.sides.js(), peer: () => c.sides.peer() },
    get peerPid(): number | undefined {
      return c.child.pid;
    },
    async echo(payload) {
      const k = await use('echo');
      if (recv.byteLength !== payload.byteLength) recv = new Uint8Array(payload.byteLength);
      let sent = 0;
      let got = 0;
      while (got < payload.byteLength) {
        if (sent < payload.byteLength) sent += k.req.write(payload, sent);
        got += k.rep.read(recv, got);
        if (got < payload.byteLength) {
          if (k.failure) throw k.failure;
          await tick();
        }
      }
    },
    async oneWay(payload, durationNs): Promise<OneWayPhase> {
      const k = await use('sink');
      const size = payload.byteLength;
      let written = 0;
      let at = 0;
      const t0 = nowNs();
      const end = t0 + durationNs;
      let t = t0;
      while (t < end) {
        const n = k.req.write(payload, at);
        written += n;
        at = (at + n) % size;
        if (n === 0) {
          if (k.failure) throw k.failure;
          await tick();
        }
        t = nowNs();
      }
      const consumed = written - k.req.used();
      const elapsedNs = nowNs() - t0;
      // Let the consumer drain before the next phase, so a phase starts with an empty ring.
      while (k.req.used() > 0) {
        if (k.failure) throw k.failure;
        await tick();
      }
      return { received: Math.floor(consumed / size), elapsedNs };
    },
    async close() {
      await stopConsumer(c);
    },
  };
}
