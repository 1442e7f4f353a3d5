// wire-format §7 "attach" (issue 8, rule 6): attach guarantees a consistent (head, tail) pair to a side that owns one
// end, and to an observer that owns neither (it looks at head, tail, head until head holds still). Stress: a native
// producer thread and a native consumer thread run one ring while this thread attaches to it for one second.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, SharedRegion } from '../src/index.js';
import { startThreadPeer } from '../src/testing/peers.js';

describe('attaching to a live ring (issue 8, rule 6)', () => {
  test('an observer attaching while a producer and a consumer run never fails the tail − head ≤ capacity check', async () => {
    using region = SharedRegion.create({ size: 64 * 1024 });
    const ring = region.createRing(1024);
    const segment = region.segments[0]!;
    const spin = { mode: 'spin' as const };
    const sink = startThreadPeer(region, { mode: 'sink', input: 0, waitPolicy: spin, idleTimeoutMs: -1 });
    const producer = startThreadPeer(region, { mode: 'produce', output: 0, count: 2 ** 31, minLength: 8, maxLength: 64, batch: 1, waitPolicy: spin, idleTimeoutMs: -1 });
    void ring;
    let attaches = 0;
    const failures: string[] = [];
    const until = performance.now() + 1000;
    const view = new DataView(region.buffer);
    const headAtStart = view.getUint32(segment.offset + 256, true);
    while (performance.now() < until) {
      for (let i = 0; i < 256; i++) {
        try {
          Ring.attach(region.buffer, { byteOffset: segment.offset });
        } catch (error) {
          if (failures.length < 5) failures.push(String(error));
        }
        attaches++;
      }
    }
    const headAtEnd = view.getUint32(segment.offset + 256, true);
    producer.stop();
    sink.stop();
    await Promise.all([producer.done, sink.done]);
    assert.deepEqual(failures, [], `${failures.length} of ${attaches} attaches failed`);
    assert.ok(((headAtEnd - headAtStart) >>> 0) > 0, 'the consumer ran while attaching');
  });
});
