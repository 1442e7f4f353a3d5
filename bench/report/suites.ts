/**
 * What each suite measures and why: the explanatory text of docs/benchmarks.md and of the HTML report that the JSON
 * document does not carry. Keyed by suite name (BenchResult.suite). The figures themselves always come from the
 * document; these paragraphs state how the scenarios are built and how to read them, never a measured number.
 */

/** The text of one suite: a heading and one or more paragraphs of Markdown (inline code and emphasis only). */
export interface SuiteText {
  title: string;
  paragraphs: string[];
}

/** The order suites appear in the reports; a suite not listed here follows, in the order it first appears in the run. */
export const SUITE_ORDER: readonly string[] = ['limits', 'ring', 'sidecar', 'alternatives', 'paced', 'pool', 'scheduling', 'resources', 'calls', 'sandbox'];

const TEXTS: Record<string, SuiteText> = {
  limits: {
    title: 'Limits of this machine',
    paragraphs: [
      'What the machine itself can do, measured in C with nothing else in the loop: the fastest ring (a producer and a consumer that do nothing but move records), a spin ping-pong of one cache line between two threads, a futex ping-pong in which both sides sleep, and `memcpy`. Every "fraction of the limit" in the targets is taken against these figures of the same run.',
      'A limit has to be the fastest the machine can do, not a C program that happens to be slower than JavaScript: an earlier C ring baseline was bounded by its own consumer, and a JavaScript producer with pre-framed batches outran it on another machine. The limits suite therefore keeps both sides of the ring minimal.',
    ],
  },
  ring: {
    title: 'The ring',
    paragraphs: [
      'The shared-memory ring of issue 2 used directly from JavaScript: JS ↔ JS over a SharedArrayBuffer, JS ↔ a native thread of the addon, and JS ↔ a native process (the `ring_peer` program, which receives the shared region as a memfd). One way, JS stages records and publishes them in batches while the peer counts them; at the end the peer\'s count must equal what JS wrote, or the suite fails. Round trips write one record to one ring and wait for the echo on a second ring.',
      'Per-record `stage()` and `tryWrite()` pay a JavaScript call, argument checks and a small copy per record; `stageMany` and `stageFrames` hand a whole batch to the ring in one call. A spinning round trip moves at least four cache lines (record and `tail` of one ring, `head`, then the same on the other ring) where the C ping-pong moves one, so even C to C over the same rings is a multiple of the ping-pong.',
    ],
  },
  sidecar: {
    title: 'Sidecar requests and sends',
    paragraphs: [
      'What a user of the library meets: `Sidecar.request()` and `Sidecar.send()` to the echo plugin (`examples/plugins/echo.c`), in thread and process mode, with default options first and then each wait policy. "Round trip" awaits one request at a time; "pipelined" keeps many requests in flight (each reply triggers the next) and counts replies per second.',
      'Spin policies need a free core: when more threads want to run than there are cores, a spinning side can hold the core its peer needs. The default `spin-then-park` degrades gracefully; `spin` is for machines with a core to spare.',
    ],
  },
  alternatives: {
    title: 'The alternatives',
    paragraphs: [
      'What a Node.js program would use instead, measured in the same run with the same message sizes: worker `postMessage` and `MessageChannel` (structured clone), `child_process` IPC (`json` and `advanced` serialization), a Unix socket, and the original design for reference, a byte ring polled with a 1 ms sleep. One-way senders keep a bounded credit window so that queues stay bounded, as a fair sender would.',
    ],
  },
  paced: {
    title: 'Latency under a paced load',
    paragraphs: [
      'Closed-loop figures (one request at a time) hide queueing. These scenarios send at a fixed arrival rate — 10 %, 50 % and 90 % of the capacity measured in the same run — and measure each message from its scheduled arrival to its completion, so a stall delays every message behind it (coordinated omission corrected with hdr-histogram-js). Compare the p99 and p99.9 columns across load fractions.',
    ],
  },
  pool: {
    title: 'A pool of sidecars against the JavaScript pools',
    paragraphs: [
      '`SidecarPool` (process mode) running CPU-bound work — the hash example plugin (`examples/plugins/hash.c`), an iterated SHA-256 of a 4 KiB payload — against what a Node.js program would use instead, on the identical digest computed with `node:crypto`: piscina (worker threads) and a plain `child_process` pool (`fork()`, JSON IPC with the payload as base64, least-busy dispatch). Every implementation is checked once per scenario to return the plugin\'s digest. Throughput keeps 64 requests in flight from the JavaScript thread, with 1 and 2 workers; the `scaling-2-vs-1` rows divide the two. The pool runs with default options (its members and the JavaScript thread park while they wait: every member\'s replies are taken on that one thread), and once more with `waitPolicy: { mode: \'spin-then-park\' }`, a single Sidecar\'s default, where the JavaScript thread spins briefly for each reply — on a small machine that takes a core the members need. `node-crypto.digest-cost` is what one request\'s digest costs in JavaScript on its own; the plugin\'s is bounded by the member CPU per request of the 1-member row.',
      'The paced rows load the 2-member pool at 50 % and 90 % of the throughput measured in the same run (open loop, latency from each request\'s intended send time). The abort rows start a request that would hash for seconds, abort it while it runs, and time the rejection (`ERR_ABORTED`) and the pool\'s `member` event `{ what: \'restarted\', cause: \'cancel\' }` — a running task that piscina cannot stop. On a 2-core machine the sender thread competes with 2 workers for the cores: compare the rows of one run.',
    ],
  },
  scheduling: {
    title: 'Priority and placement',
    paragraphs: [
      'The `scheduling` option of `Sidecar.start` (docs/architecture.md, "Priority and placement"): request round trips with otherwise default options, with no scheduling option, with the runtime pinned to CPU 1 and the pump (the JavaScript thread) to CPU 0, with the runtime at nice −10, and at `SCHED_FIFO` priority 10 (root only). Each once on the machine as it is ("idle") and once with two busy-looping processes at nice 0 competing for the cores ("loaded"). The configurations of a group alternate run by run, so the drift of a shared machine hits all alike; each note gives the ratios to "no scheduling option" of the same group and run.',
      'This suite runs only when named (`npm run bench -- scheduling`): it starts a sidecar per run and deliberately loads the machine.',
    ],
  },
  resources: {
    title: 'Resources',
    paragraphs: [
      'What a sidecar costs when it does nothing or after it has done a lot: the CPU of a parked sidecar over 10 s (percent of one core), the resident memory (RSS) per sidecar, and the RSS before and after 10^7 messages (a leak shows as growth).',
    ],
  },
  calls: {
    title: 'Calls between JavaScript and C',
    paragraphs: [
      'Nanoseconds per crossing between JavaScript and C through the two bindings of the interop showcase (`src/showcase/`): N-API and koffi synchronous calls in both directions, calls from a native thread (thread-safe functions, blocking and fire-and-forget), N-API async work, and one ring record each way for comparison. These are what an addon author would write instead of a sidecar; the guidance drawn from them is in [interop-best-practices.md](interop-best-practices.md#8-which-mechanism-when).',
      'Anything involving a second thread is at the mercy of the scheduler on a small machine: compare the figures of one run, not of different runs.',
    ],
  },
  sandbox: {
    title: 'The cost of the sandbox',
    paragraphs: [
      'Process mode\'s default sandbox (docs/security.md) against the same sidecar with `sandbox: false`, alternating in the same run: the start-up cost (Landlock ruleset, seccomp filter, namespaces) and the request round trip, where the sandbox cannot be seen because the request path makes no system call while both sides spin.',
    ],
  },
};

/** The text of `suite` (pure, never throws); a suite without a template gets its name as the title and a sentence saying so. */
export function suiteText(suite: string): SuiteText {
  return TEXTS[suite] ?? { title: `Suite ${suite}`, paragraphs: [`The suite \`${suite}\` has no description in bench/report/suites.ts yet; its scenarios and notes follow.`] };
}

/** The distinct suites of `suites` in report order: SUITE_ORDER first, then the others in the order they first appear. Pure. */
export function suitesInOrder(suites: readonly string[]): string[] {
  const present = new Set(suites);
  const known = SUITE_ORDER.filter((s) => present.has(s));
  const rest: string[] = [];
  for (const s of suites) if (!SUITE_ORDER.includes(s) && !rest.includes(s)) rest.push(s);
  return [...known, ...rest];
}
