/**
 * The showcase, section by section, in the order of the original (ring buffer, reverse callbacks, V-tables), then
 * reverse calls from native threads and callback lifetimes. Each section works through any InteropBinding and
 * reports each step through `print`, so `npm run showcase` prints it and the tests assert it.
 */
import { NativeSidecarError } from '../errors.js';
import { Ring } from '../ring/ring.js';
import { fnv1aU32Sequence } from './checksum.js';
import { RING_TEXT_TYPE } from './status.js';
import type { InteropBinding, RingSegment } from './types.js';

export type Print = (line: string) => void;

export interface Section {
  title: string;
  run(binding: InteropBinding, print: Print): Promise<void>;
}

export const TEXT_FROM_TYPESCRIPT = 'Hello World from TypeScript!';
export const TEXT_FROM_NATIVE = 'Hello World from Native C++!';
export const CALLER_MESSAGE = 'Hello World from TypeScript, passed through Native C++!';
/** Calls per native-thread demo. */
export const THREAD_CALLS = 1000;
const RING_CAPACITY = 4096;

function newRing(): { ring: Ring; segment: RingSegment } {
  const byteLength = Ring.segmentSize(RING_CAPACITY);
  const buffer = new ArrayBuffer(byteLength);
  return { ring: Ring.create(buffer, { capacity: RING_CAPACITY }), segment: { buffer, byteOffset: 0, byteLength } };
}

const ringBuffer: Section = {
  title: 'Ring buffer',
  async run(binding, print) {
    // One ring per direction: a ring has exactly one producer and one consumer.
    const toNative = newRing();
    if (!toNative.ring.tryWrite(RING_TEXT_TYPE, new TextEncoder().encode(TEXT_FROM_TYPESCRIPT))) {
      throw new Error('The empty ring refused the first record.');
    }
    print(`Producer: Sent text = ${TEXT_FROM_TYPESCRIPT}`);
    print(`Consumer: Received text = ${binding.ringReceiveText(toNative.segment) ?? '(nothing)'}`);

    const toJs = newRing();
    if (!binding.ringSendText(toJs.segment, TEXT_FROM_NATIVE)) throw new Error('The empty ring refused the native record.');
    print(`Producer (native): Sent text = ${TEXT_FROM_NATIVE}`);
    const record = toJs.ring.peek();
    const received = record === null ? '(nothing)' : new TextDecoder().decode(record.payload);
    if (record !== null) toJs.ring.release();
    print(`Consumer (TypeScript): Received text = ${received}`);
  },
};

const reverseCallbacks: Section = {
  title: 'Reverse callbacks',
  async run(binding, print) {
    let calls = 0;
    const callback = binding.registerMessageCallback((message) => {
      calls++;
      print(`[Managed] ${message}`);
    });
    try {
      binding.sayHello(callback);
      binding.say(callback, CALLER_MESSAGE);
    } finally {
      callback.release();
    }
    print(`Native code called the callback ${calls} times.`);
  },
};

const vtables: Section = {
  title: 'V-tables',
  async run(binding, print) {
    const sum = binding.runHostVTable({
      log: (message) => print(`[Managed] ${message}`),
      add: (a, b) => a + b,
    });
    print(`Host V-table: native code returned ${sum}.`);
    const table = binding.nativeVTable();
    print(`Native V-table v${table.version} (${table.size} bytes): ${table.describe()}`);
    print(`Native add(21, 21) = ${table.add(21, 21)}`);
    print(`Native multiply(6, 7) = ${table.multiply(6, 7)}`);
    const hash = table.fnv1a(new TextEncoder().encode(TEXT_FROM_TYPESCRIPT));
    print(`Native fnv1a("${TEXT_FROM_TYPESCRIPT}") = 0x${hash.toString(16).padStart(8, '0')}`);
  },
};

const nativeThreads: Section = {
  title: 'Reverse calls from a native thread',
  async run(binding, print) {
    const values = Array.from({ length: THREAD_CALLS }, (_, i) => i);

    const received: number[] = [];
    const sink = binding.registerValueCallback((value) => {
      received.push(value);
      return 0;
    });
    const fireReport = await binding.startCallThread(sink, { count: THREAD_CALLS, mode: 'fire-and-forget' }).join();
    // The thread may finish before the JS thread has run every queued call: wait for the last one.
    while (received.length < fireReport.callsOk) await new Promise((resolve) => setImmediate(resolve));
    sink.release();
    const fireOk = fireReport.checksum === fnv1aU32Sequence(received);
    print(
      `Fire-and-forget: the native thread made ${fireReport.callsOk} calls; JS received ${received.length}, in order: ${fireOk}` +
        (binding.name === 'koffi' ? ' (koffi relays every foreign call and the thread waits for it)' : ''),
    );

    const doubler = binding.registerValueCallback((value) => value * 2 + 1);
    const blockingReport = await binding.startCallThread(doubler, { count: THREAD_CALLS, mode: 'blocking' }).join();
    const blockingOk = blockingReport.checksum === fnv1aU32Sequence(values.map((v) => v * 2 + 1));
    print(`Blocking: the native thread got ${blockingReport.callsOk} results (value * 2 + 1), all correct: ${blockingOk}`);

    // The deadlock: the JS thread blocks in join() while the thread makes a blocking call that needs the JS thread.
    const thread = binding.startCallThread(doubler, { count: 1, mode: 'blocking', delayMs: 20 });
    let outcome: string;
    try {
      const report = thread.joinSync();
      outcome = report.firstError instanceof NativeSidecarError ? `the thread's call failed with ${report.firstError.code}` : 'no deadlock arose';
    } catch (error) {
      if (!(error instanceof NativeSidecarError)) throw error;
      outcome = `join failed with ${error.code}`;
      await thread.join();
    }
    doubler.release();
    print(`Deadlock guard: a blocking call while JS is blocked in join() -> ${outcome} instead of hanging`);
  },
};

const lifetimes: Section = {
  title: 'Callback lifetimes',
  async run(binding, print) {
    let calls = 0;
    const callback = binding.registerMessageCallback(() => {
      calls++;
    });
    binding.sayHello(callback);
    callback.release();
    try {
      binding.sayHello(callback);
      print('Calling a released callback: no error (unexpected)');
    } catch (error) {
      if (!(error instanceof NativeSidecarError)) throw error;
      print(`Calling a released callback -> ${error.code}; it ran ${calls} time before release`);
    }
    // A new registration may reuse the slot; the old handle still fails because its generation differs.
    const next = binding.registerMessageCallback(() => {});
    try {
      binding.sayHello(callback.id);
      print('Calling the stale handle after its slot was reused: no error (unexpected)');
    } catch (error) {
      if (!(error instanceof NativeSidecarError)) throw error;
      print(`Calling the stale handle after a new registration -> ${error.code}`);
    } finally {
      next.release();
    }
  },
};

export const SECTIONS: readonly Section[] = [ringBuffer, reverseCallbacks, vtables, nativeThreads, lifetimes];

/** Runs every section through `binding`, printing a heading before each. */
export async function runShowcase(binding: InteropBinding, print: Print): Promise<void> {
  for (const section of SECTIONS) {
    print(`--- ${section.title} ---`);
    await section.run(binding, print);
  }
}
