/**
 * `npm run soak` — the long proof of the delivery contract (docs/reliability.md, "How it is proven"):
 *
 * Three phases, run in this order (the messages first, so that their RSS figures start from a fresh process):
 *
 * 1. messages: --messages N (default 10^8) checksummed 32-byte messages across the process boundary through the echo
 *    plugin (examples/plugins/echo.c): pipelined send()s, every event checked in order (sequence number) and by
 *    checksum. Prints msgs/s, elapsed time and the RSS of this process (and of the sidecar) at start, middle and end.
 * 2. kills: --kills N (default 1000) kill -9s of the sidecar process (ledger plugin, process mode, restart policy on)
 *    under a steady load of pipelined sends and requests, at random moments (while it processes, while a restart
 *    loads and inits it, and once while stop() drains). The ledger proves that no resolved send was lost and that no
 *    completed command ran twice (a command runs again only as the flagged redelivery of the one inside process()).
 * 3. model: the model-based fault-injection test of test/sidecar-model.test.ts (test/helpers/delivery-model.ts), in
 *    both modes, for --minutes N (default 1). Every failing run is reported with its seed and path.
 *
 * Options: --minutes N, --kills N, --messages N, --only model|kills|messages (repeatable), --seed N (model).
 * Exit code 1 when any violation was found. The summary's figures are exact counts meant for docs/reliability.md.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { Sidecar, examplePluginPath, type SidecarExit, type SidecarMode } from '../src/index.js';
import { deliveryProperty, emptyStats, faultsInjected, liveChildren, type Stats } from '../test/helpers/delivery-model.js';
import { LEDGER_REDELIVERED, Ledger } from '../test/helpers/ledger.js';
import { sleep, testPlugin } from '../test/helpers/sidecar-env.js';

interface Args {
  minutes: number;
  kills: number;
  messages: number;
  only: Set<string>;
  seed: number | undefined;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { minutes: 1, kills: 1000, messages: 1e8, only: new Set(), seed: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const num = (): number => {
      const n = Number(value);
      if (value === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a non-negative number`);
      i++;
      return n;
    };
    switch (flag) {
      case '--minutes': a.minutes = num(); break;
      case '--kills': a.kills = Math.floor(num()); break;
      case '--messages': a.messages = Math.floor(num()); break;
      case '--seed': a.seed = Math.floor(num()); break;
      case '--only':
        if (value === undefined) throw new Error('--only needs model, kills or messages');
        a.only.add(value);
        i++;
        break;
      default:
        throw new Error(`unknown option ${flag} (options: --minutes N --kills N --messages N --only model|kills|messages --seed N)`);
    }
  }
  return a;
}

const MiB = 1024 * 1024;
const fmt = (n: number): string => n.toLocaleString('en-US');
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

function childRss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]) * 1024;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 1. The model, for a while.

interface ModelResult {
  seconds: number;
  checks: number;
  stats: Record<SidecarMode, Stats>;
  failures: { mode: SidecarMode; seed: number; path: string | undefined; error: string }[];
}

async function soakModel(minutes: number, firstSeed: number | undefined): Promise<ModelResult> {
  const stats: Record<SidecarMode, Stats> = { thread: emptyStats(), process: emptyStats() };
  const failures: ModelResult['failures'] = [];
  const end = Date.now() + minutes * 60_000;
  const started = Date.now();
  let checks = 0;
  let seed = firstSeed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const modes: SidecarMode[] = ['process', 'thread', 'process'];
  while (Date.now() < end) {
    const mode = modes[checks % modes.length]!;
    const details = await fc.check(deliveryProperty({ mode, maxCommands: 24, stats: stats[mode], failOnViolation: true }), {
      seed,
      numRuns: 5,
      endOnFailure: true,
    });
    checks++;
    if (details.failed) {
      const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      failures.push({ mode, seed, path: details.counterexamplePath ?? undefined, error });
      console.log(`model: ${mode} mode FAILED — replay with MODEL_SEED=${seed} MODEL_PATH=${details.counterexamplePath ?? ''}\n${error.slice(0, 4000)}`);
    }
    seed = (seed + 0x9e3779b9) | 0;
    const total = stats.thread.runs + stats.process.runs;
    if (checks % 6 === 0) console.log(`model: ${total} runs, ${((Date.now() - started) / 1000).toFixed(0)} s, ${failures.length} failing`);
  }
  return { seconds: (Date.now() - started) / 1000, checks, stats, failures };
}

// ---------------------------------------------------------------------------------------------------------------
// 2. kill -9 under load, checked against the ledger.

interface KillResult {
  seconds: number;
  kills: number;
  killsDuringStart: number;
  exits: number;
  restarts: number;
  sends: number;
  sendsResolved: number;
  requests: number;
  requestsResolved: number;
  requestsRejected: Record<string, number>;
  ledgerEntries: number;
  redeliveries: number;
  poisons: number;
  /** Kills during the final drain that landed (1, or 0 when the drain had finished first). */
  drainKills: number;
  finalExit: SidecarExit | undefined;
  violations: string[];
}

async function soakKills(killsWanted: number): Promise<KillResult> {
  const ledger = new Ledger('ns-soak-kills-');
  const started = Date.now();
  const sidecar = await Sidecar.start({
    plugin: testPlugin('ledger'),
    mode: 'process',
    ...ledger.sidecarOptions('process'),
    commandRingBytes: 16 * 1024,
    eventRingBytes: 16 * 1024,
    restart: { maxRestarts: killsWanted * 2 + 10, backoffMs: 0, maxBackoffMs: 0 },
    stopTimeoutMs: 30_000,
  });
  const r: KillResult = {
    seconds: 0, kills: 0, killsDuringStart: 0, exits: 0, restarts: 0, sends: 0, sendsResolved: 0, requests: 0, requestsResolved: 0,
    requestsRejected: {}, ledgerEntries: 0, redeliveries: 0, poisons: 0, drainKills: 0, finalExit: undefined, violations: [],
  };
  const marks = new Set<number>();
  let ready = true;
  let stopCalled = false;
  sidecar.on('exit', (exit: SidecarExit) => {
    r.exits++;
    ready = false;
    ledger.poll();
    marks.add(ledger.entries.length);
    if (!exit.restarting && !stopCalled) r.violations.push(`[final] the sidecar ended for good during the kills: ${exit.reason} ${exit.message ?? ''}`);
  });
  sidecar.on('ready', () => {
    ready = true;
  });
  sidecar.on('restart', () => r.restarts++);
  sidecar.on('error', (error: Error) => r.violations.push(`[error] ${error.message}`));
  // Two kills that land while the same command runs (its first delivery and its redelivery) quarantine it: the host
  // cannot tell an outside kill -9 from a crash the command caused. Allowed, counted, and checked below.
  const poisoned = new Set<bigint>();
  sidecar.on('poison', (p: { data: Uint8Array }) => {
    r.poisons++;
    poisoned.add(new DataView(p.data.buffer, p.data.byteOffset, p.data.byteLength).getBigUint64(0, true));
  });

  const resolvedSends: bigint[] = [];
  const requestOutcome = new Map<bigint, 'resolved' | 'rejected' | 'pending'>();
  let seq = 1n;
  let producing = true;
  const payload = new Uint8Array(16);
  const view = new DataView(payload.buffer);
  const inFlight = new Set<Promise<unknown>>();
  // The load: sends (awaited in bursts for backpressure) with a request every 16 commands.
  const producer = (async () => {
    while (producing) {
      const burst: Promise<unknown>[] = [];
      for (let i = 0; i < 64; i++) {
        const s = seq++;
        view.setBigUint64(0, s, true);
        view.setBigUint64(8, s ^ 0x5a5a5a5a5a5a5a5an, true);
        if (i % 16 === 15) {
          r.requests++;
          requestOutcome.set(s, 'pending');
          const expect = payload.slice();
          const p = sidecar.request(payload).then(
            (reply) => {
              requestOutcome.set(s, 'resolved');
              r.requestsResolved++;
              if (reply.byteLength !== expect.byteLength || !reply.every((b, k) => b === expect[k])) r.violations.push(`[reply] request ${s} got a wrong reply`);
            },
            (error: { code?: string }) => {
              requestOutcome.set(s, 'rejected');
              const code = error.code ?? String(error);
              r.requestsRejected[code] = (r.requestsRejected[code] ?? 0) + 1;
            },
          );
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
          burst.push(p);
        } else {
          r.sends++;
          const p = sidecar.send(payload).then(
            () => {
              r.sendsResolved++;
              resolvedSends.push(s);
            },
            (error: Error) => r.violations.push(`[send] send ${s} rejected: ${error.message}`),
          );
          burst.push(p);
        }
      }
      // Backpressure: wait for this burst's sends to be in the ring; keep at most ~2048 requests in flight.
      await Promise.all(burst.filter((_, i) => i % 16 !== 15));
      while (inFlight.size > 2048) await Promise.race(inFlight);
    }
  })();

  // The killer: one kill -9 per sidecar process, at random moments of its run (after READY, under load), and every
  // fourth time also the next one right after a restart spawned it (while it loads the plugin and runs init). Each
  // kill waits for the 'exit' of its process, so every kill is a death.
  const waitForExit = async (exitsBefore: number): Promise<void> => {
    const end = Date.now() + 10_000;
    while (r.exits === exitsBefore && Date.now() < end) await new Promise<void>((resolve) => setImmediate(resolve));
    if (r.exits === exitsBefore) r.violations.push('[hang] no exit event within 10 s of a kill -9');
  };
  let lastReport = Date.now();
  while (r.kills < killsWanted) {
    const end = Date.now() + 10_000;
    while (Date.now() < end && !ready) await sleep(1);
    await sleep(Math.floor(Math.random() * 12));
    const pid = sidecar.pid;
    if (pid <= 0) continue;
    let exitsBefore = r.exits;
    process.kill(pid, 'SIGKILL');
    r.kills++;
    await waitForExit(exitsBefore);
    if (r.kills % 4 === 0 && r.kills < killsWanted) {
      // The restart spawns from a timer; this check runs right after it, in the same turn of the event loop.
      const spawnEnd = Date.now() + 5000;
      while (Date.now() < spawnEnd && (sidecar.pid <= 0 || sidecar.pid === pid)) await new Promise<void>((resolve) => setImmediate(resolve));
      const next = sidecar.pid;
      if (next > 0 && next !== pid) {
        exitsBefore = r.exits;
        const early = !ready;
        process.kill(next, 'SIGKILL');
        r.kills++;
        if (early) r.killsDuringStart++;
        await waitForExit(exitsBefore);
      }
    }
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      console.log(`kills: ${r.kills} kill -9s, ${fmt(r.sendsResolved)} sends resolved, ${r.violations.length} violations`);
    }
  }
  producing = false;
  await producer;
  // A last kill while stop() drains a backlog: the restarted sidecar must finish the drain (rule 1).
  for (let i = 0; i < 4096; i++) {
    const s = seq++;
    view.setBigUint64(0, s, true);
    view.setBigUint64(8, s ^ 0x5a5a5a5a5a5a5a5an, true);
    r.sends++;
    void sidecar.send(payload).then(
      () => {
        r.sendsResolved++;
        resolvedSends.push(s);
      },
      (error: Error) => r.violations.push(`[send] send ${s} rejected: ${error.message}`),
    );
  }
  stopCalled = true;
  const restartsBeforeStop = r.restarts;
  const stopping = sidecar.stop();
  await sleep(2);
  if (sidecar.pid > 0) {
    try {
      process.kill(sidecar.pid, 'SIGKILL');
    } catch {
      // it had finished already
    }
  }
  r.finalExit = await stopping;
  r.drainKills = r.restarts - restartsBeforeStop;
  r.kills += r.drainKills;
  await Promise.all([...inFlight]);
  ledger.poll();
  r.seconds = (Date.now() - started) / 1000;
  if (r.finalExit.reason !== 'stopped' || r.finalExit.dropped !== 0) r.violations.push(`[final] stop() ended ${r.finalExit.reason} with ${r.finalExit.dropped} dropped`);

  // The ledger: every resolved send exactly once (or once more, flagged, right after a death); answered requests too;
  // nothing twice otherwise.
  for (const s of resolvedSends) if (ledger.count(s) === 0 && !poisoned.has(s)) r.violations.push(`[lost] resolved send ${s} never ran`);
  for (const [s, outcome] of requestOutcome) {
    if (outcome === 'resolved' && ledger.count(s) === 0) r.violations.push(`[reply] request ${s} was answered but never ran`);
    if (outcome === 'pending') r.violations.push(`[unsettled] request ${s} still pending after stop()`);
    if (outcome === 'rejected' && !poisoned.has(s)) r.violations.push(`[rejected] request ${s} rejected although the restart policy allows every restart`);
  }
  for (const [s, list] of ledger.bySeq) {
    if (s >= seq) r.violations.push(`[ledger] seq ${s} was never sent`);
    if (list.length === 1) {
      if ((list[0]!.flags & LEDGER_REDELIVERED) !== 0 && !marks.has(list[0]!.index)) r.violations.push(`[flags] seq ${s} flagged redelivered away from a death`);
      continue;
    }
    const [a, b] = list;
    const ok = list.length === 2 && (a!.flags & LEDGER_REDELIVERED) === 0 && (b!.flags & LEDGER_REDELIVERED) !== 0 && b!.index === a!.index + 1 && marks.has(a!.index + 1);
    if (!ok) r.violations.push(`[duplicate] seq ${s} ran ${list.length} times: ${list.map((e) => `#${e.index}/${e.flags}`).join(' ')}`);
  }
  r.ledgerEntries = ledger.entries.length;
  r.redeliveries = ledger.entries.filter((e) => (e.flags & LEDGER_REDELIVERED) !== 0).length;
  const children = liveChildren();
  if (children.length > 0) r.violations.push(`[process-leak] ${children.length} child processes still run`);
  ledger.dispose();
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Checksummed messages through echo.

interface MessageResult {
  messages: number;
  seconds: number;
  perSecond: number;
  rss: { start: number; middle: number; end: number };
  sidecarRss: { start: number; middle: number; end: number };
  violations: string[];
}

const MESSAGE_BYTES = 32;
/**
 * Events not yet received that the producer allows before it waits (the window of the pipeline): below what the
 * command ring holds (1 MiB / 48-byte records ≈ 21,800), so that sends go straight into the ring, never the backlog.
 */
const WINDOW = 16_384;

/** Word i (1…5) of message `seq`'s body, and its checksum (word 7): cheap, position- and sequence-dependent. */
function bodyWord(seqLo: number, i: number): number {
  return Math.imul(seqLo ^ (i * 0x9e3779b1), 0x85ebca6b) >>> 0;
}

async function soakMessages(total: number): Promise<MessageResult> {
  const violations: string[] = [];
  let received = 0;
  let words: Uint32Array | undefined;
  let wordsBuffer: ArrayBufferLike | undefined;
  let waiter: (() => void) | undefined;
  let waitFor = 0;
  const onEvent = (id: number, data: Uint8Array): void => {
    if (data.buffer !== wordsBuffer) {
      wordsBuffer = data.buffer;
      words = new Uint32Array(data.buffer);
    }
    const w = data.byteOffset >>> 2;
    const expected = received;
    const lo = words![w]!;
    const hi = words![w + 1]!;
    let sum = (lo ^ hi) >>> 0;
    let ok = id === 1 && data.byteLength === MESSAGE_BYTES && lo === expected % 2 ** 32 && hi === Math.floor(expected / 2 ** 32);
    for (let i = 2; i < 7 && ok; i++) {
      const v = words![w + i]!;
      if (v !== bodyWord(lo, i)) ok = false;
      sum = (Math.imul(sum, 31) + v) >>> 0;
    }
    if (ok && words![w + 7] !== sum) ok = false;
    if (!ok && violations.length < 20) violations.push(`[message] event ${received}: id ${id}, ${data.byteLength} bytes, seq ${hi}:${lo} — out of order or checksum mismatch`);
    received++;
    if (waiter !== undefined && received >= waitFor) {
      const w2 = waiter;
      waiter = undefined;
      w2();
    }
  };
  const sidecar = await Sidecar.start({
    plugin: examplePluginPath('echo'),
    mode: 'process',
    host: { event: onEvent },
    commandRingBytes: 1 << 20,
    eventRingBytes: 1 << 20,
  });
  const payload = new Uint8Array(MESSAGE_BYTES);
  const pw = new Uint32Array(payload.buffer);
  const rss = { start: process.memoryUsage.rss(), middle: NaN, end: NaN };
  const sidecarRss = { start: childRss(sidecar.pid), middle: NaN, end: NaN };
  const started = process.hrtime.bigint();
  let sent = 0;
  let lastReport = Date.now();
  const middle = Math.floor(total / 2);
  while (sent < total) {
    let pending: Promise<void> | undefined;
    const stop = Math.min(total, sent + 4096);
    for (; sent < stop; sent++) {
      const lo = sent % 2 ** 32;
      pw[0] = lo;
      pw[1] = Math.floor(sent / 2 ** 32);
      let sum = (pw[0]! ^ pw[1]!) >>> 0;
      for (let i = 2; i < 7; i++) {
        const v = bodyWord(lo, i);
        pw[i] = v;
        sum = (Math.imul(sum, 31) + v) >>> 0;
      }
      pw[7] = sum;
      const p = sidecar.send(payload, { type: 1 });
      pending = p;
    }
    await pending; // in the ring (backpressure from a full command ring)
    if (sent - received > WINDOW) {
      waitFor = sent - WINDOW / 2;
      await new Promise<void>((resolve) => {
        waiter = resolve;
        if (received >= waitFor) {
          waiter = undefined;
          resolve();
        }
      });
    }
    if (Number.isNaN(rss.middle) && sent >= middle) {
      rss.middle = process.memoryUsage.rss();
      sidecarRss.middle = childRss(sidecar.pid);
    }
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      const s = Number(process.hrtime.bigint() - started) / 1e9;
      console.log(`messages: ${fmt(received)} of ${fmt(total)} in ${s.toFixed(0)} s (${fmt(Math.round(received / s))}/s), RSS ${mib(process.memoryUsage.rss())}`);
    }
  }
  if (received < total) {
    waitFor = total;
    await new Promise<void>((resolve) => {
      waiter = resolve;
      if (received >= waitFor) {
        waiter = undefined;
        resolve();
      }
    });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  rss.end = process.memoryUsage.rss();
  sidecarRss.end = childRss(sidecar.pid);
  if (Number.isNaN(rss.middle)) rss.middle = rss.end;
  const exit = await sidecar.stop();
  if (exit.reason !== 'stopped') violations.push(`[final] the echo sidecar ended ${exit.reason}`);
  if (received !== total) violations.push(`[count] ${fmt(received)} events for ${fmt(total)} messages`);
  return { messages: total, seconds, perSecond: total / seconds, rss, sidecarRss, violations };
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const want = (what: string): boolean => args.only.size === 0 || args.only.has(what);
  const startedAt = new Date();
  let violations = 0;
  const summary: string[] = [];
  console.log(`soak: node ${process.version}, ${startedAt.toISOString()}, options ${JSON.stringify({ ...args, only: [...args.only] })}`);

  // Messages first: its RSS figures then start from a fresh process, not from the other phases' garbage.
  if (want('messages') && args.messages > 0) {
    const m = await soakMessages(args.messages);
    violations += m.violations.length;
    summary.push(
      `messages: ${fmt(m.messages)} checksummed 32-byte messages JS → echo (process) → JS in ${m.seconds.toFixed(1)} s = ${fmt(Math.round(m.perSecond))} msgs/s; ` +
        `RSS host ${mib(m.rss.start)} / ${mib(m.rss.middle)} / ${mib(m.rss.end)} (start / middle / end; growth ${mib(m.rss.end - m.rss.start)}, second half ${mib(m.rss.end - m.rss.middle)}), ` +
        `sidecar ${mib(m.sidecarRss.start)} / ${mib(m.sidecarRss.middle)} / ${mib(m.sidecarRss.end)}; violations ${fmt(m.violations.length)}`,
    );
    for (const x of m.violations) summary.push(`  ${x}`);
  }

  if (want('kills') && args.kills > 0) {
    const k = await soakKills(args.kills);
    violations += k.violations.length;
    summary.push(
      `kills: ${fmt(k.kills)} kill -9s (${fmt(k.killsDuringStart)} of a restarted sidecar before its READY, ${k.drainKills} during the final drain) in ${k.seconds.toFixed(0)} s; ` +
        `${fmt(k.exits)} exits, ${fmt(k.restarts)} restarts; ${fmt(k.sends)} sends (${fmt(k.sendsResolved)} resolved), ${fmt(k.requests)} requests ` +
        `(${fmt(k.requestsResolved)} answered, rejected ${JSON.stringify(k.requestsRejected)}); ledger ${fmt(k.ledgerEntries)} entries, ` +
        `${fmt(k.redeliveries)} flagged redeliveries, ${fmt(k.poisons)} commands quarantined after two kills landed on them; final exit ${k.finalExit?.reason} dropped ${k.finalExit?.dropped}; violations ${fmt(k.violations.length)}`,
    );
    for (const x of k.violations.slice(0, 20)) summary.push(`  ${x}`);
  }

  if (want('model') && args.minutes > 0) {
    const m = await soakModel(args.minutes, args.seed);
    const both = [m.stats.thread, m.stats.process];
    const sum = (f: (s: Stats) => number): number => both.reduce((a, s) => a + f(s), 0);
    const v = sum((s) => s.violations);
    violations += m.failures.length;
    summary.push(
      `model: ${fmt(sum((s) => s.runs))} runs (${fmt(m.stats.thread.runs)} thread, ${fmt(m.stats.process.runs)} process) in ${m.seconds.toFixed(0)} s; ` +
        `${fmt(sum((s) => s.commands))} model commands; ${fmt(sum((s) => s.sends))} sends (${fmt(sum((s) => s.sendsResolved))} resolved), ` +
        `${fmt(sum((s) => s.requests))} requests (${fmt(sum((s) => s.requestsResolved))} answered); ` +
        `faults injected ${fmt(sum(faultsInjected))} (kill -9 ${fmt(sum((s) => s.kills))} of which ${fmt(sum((s) => s.killsDuringRestart))} more during a restart's start, ` +
        `segfault ${fmt(sum((s) => s.crashes))}, crash-once ${fmt(sum((s) => s.crashOnce))}, hang ${fmt(sum((s) => s.hangs))}, corruption ${fmt(sum((s) => s.corruptions))} ` +
        `(+${fmt(sum((s) => s.corruptionsSkipped))} found nothing to damage)), aborts ${fmt(sum((s) => s.aborts))}, stops ${fmt(sum((s) => s.stops))} ` +
        `(${fmt(sum((s) => s.stopsWithoutDrain))} without drain); restarts ${fmt(sum((s) => s.restarts))}, poison ${fmt(sum((s) => s.poisons))} (${fmt(sum((s) => s.poisonedByOtherFaults))} of them commands that complete, killed twice by other faults), ` +
        `redeliveries ${fmt(sum((s) => s.redeliveries))}, dropped ${fmt(sum((s) => s.dropped))}, reported lost ${fmt(sum((s) => s.lostReported))}; ` +
        `violations ${fmt(v)} in ${m.failures.length} failing runs`,
    );
    summary.push(`model final exits: thread ${JSON.stringify(m.stats.thread.finalReasons)}, process ${JSON.stringify(m.stats.process.finalReasons)}`);
    summary.push(`model rejections: requests ${JSON.stringify(m.stats.process.requestsRejected)} (process) ${JSON.stringify(m.stats.thread.requestsRejected)} (thread); sends ${JSON.stringify(m.stats.process.sendsRejected)} (process) ${JSON.stringify(m.stats.thread.sendsRejected)} (thread)`);
    for (const f of m.failures) summary.push(`  FAILED ${f.mode}: MODEL_SEED=${f.seed} MODEL_PATH=${f.path ?? ''} — ${f.error.split('\n').slice(0, 3).join(' ')}`);
  }

  console.log(`\nsoak summary (${startedAt.toISOString()}, ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s):`);
  for (const line of summary) console.log(line);
  console.log(`total violations: ${violations}`);
  process.exitCode = violations > 0 ? 1 : 0;
}

await main();
