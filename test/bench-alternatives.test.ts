/**
 * Shape checks of the `alternatives` and `paced` benchmark suites (bench/alternatives.ts, bench/paced.ts), run at
 * smoke depth through their default export with a hand-built BenchContext (bench/alt-driver.ts). Never checks a
 * speed: only that every planned scenario ran, once, and produced the fields of the schema-2 contract.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import alternatives, { plan as planAlternatives } from '../bench/alternatives.js';
import { makeContext } from '../bench/alt-driver.js';
import type { BenchContext, BenchResult } from '../bench/lib/contract.js';
import paced, { plan as planPaced } from '../bench/paced.js';
import type { MessageLink } from '../bench/baselines/alt-link.js';
import { childIpc } from '../bench/baselines/alt-messages.js';
import { originalRing } from '../bench/baselines/alt-original-ring.js';
import { unixSocket } from '../bench/baselines/alt-unix-socket.js';

function context(o: Parameters<typeof makeContext>[1] = {}): { ctx: BenchContext; begun: string[] } {
  const begun: string[] = [];
  const base = makeContext('smoke', { log: () => undefined, ...o });
  return { ctx: { ...base, begin: (id) => void begun.push(id) }, begun };
}

function assertLatency(r: BenchResult): void {
  const l = r.latency_ns;
  assert.ok(l !== undefined, `${r.id} has latency_ns`);
  for (const k of ['p50', 'p99', 'p999', 'max', 'count'] as const) assert.ok(Number.isFinite(l[k]) && l[k] > 0, `${r.id} latency_ns.${k} is a positive number`);
  assert.ok(l.p50 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, `${r.id} percentiles are ordered`);
}

function assertCommon(r: BenchResult, suite: string): void {
  assert.equal(r.suite, suite);
  assert.match(r.id, new RegExp(`^${suite}\\.[a-z0-9-]+\\.[a-z0-9-]+\\.\\d+$`));
  assert.ok(r.scenario.length > 0 && r.transport.length > 0, `${r.id} has a title and a transport`);
  assert.ok(['ours', 'alternative'].includes(r.kind), `${r.id} kind`);
  assert.equal(r.runs, 1);
  assert.ok(typeof r.spread === 'number' && r.spread >= 0, `${r.id} spread`);
  assert.ok(Number.isInteger(r.message_bytes) && (r.message_bytes as number) > 0, `${r.id} message_bytes`);
}

describe('bench suite alternatives', () => {
  test('a smoke run measures every planned scenario once, in plan order, with the contract fields', async () => {
    const { ctx, begun } = context();
    const planned = planAlternatives(ctx).map((p) => p.id);
    const { results, checks } = await alternatives(ctx);
    assert.deepEqual(results.map((r) => r.id), planned);
    assert.deepEqual(begun, planned);
    for (const size of ctx.sizes) {
      for (const id of ['sidecar-thread.round-trip', 'sidecar-process.pipelined', 'postmessage.one-way', 'child-ipc-json.round-trip', 'unix-socket.one-way', 'original-ring.round-trip', 'koffi.call', 'napi-sync.call', 'napi-async.pipelined']) {
        assert.ok(planned.includes(`alternatives.${id}.${size}`), `plan has alternatives.${id}.${size}`);
      }
    }
    for (const r of results) {
      assertCommon(r, 'alternatives');
      assert.equal(r.kind, r.id.startsWith('alternatives.sidecar-') ? 'ours' : 'alternative');
      assert.ok((r.msgs_per_s ?? 0) > 0 && (r.gbytes_per_s ?? -1) >= 0, `${r.id} has msgs/s and GB/s`);
      if (r.pattern !== 'one-way') assertLatency(r);
      if (r.pattern === 'call') assert.ok((r.ns_per_call ?? 0) > 0, `${r.id} ns_per_call`);
      assert.ok(Number.isFinite(r.cpu_ns_per_msg?.js), `${r.id} has the JS side's CPU per message`);
      if (r.pattern !== 'call') assert.ok(Number.isFinite(r.cpu_ns_per_msg?.peer), `${r.id} has the peer's CPU per message`);
    }
    const transports = new Set(results.map((r) => r.transport));
    assert.ok(transports.has('original design (1 ms polled byte ring)'));
    assert.equal(checks.length, 4, 'p99/p50 and the postMessage ratio, for both modes');
    for (const c of checks) assert.ok(Number.isFinite(c.value) && c.issue === 11, c.target);
  });

  test('--only runs just the selected scenarios', async () => {
    const only = ['alternatives.postmessage.round-trip.32', 'alternatives.napi-async.round-trip.1024'];
    const { ctx, begun } = context({ only, sizes: [32, 1024] });
    assert.deepEqual(planAlternatives(ctx).map((p) => p.id), only);
    const { results } = await alternatives(ctx);
    assert.deepEqual(results.map((r) => r.id), only);
    assert.deepEqual(begun, only);
  });

  test('a missing benchmark program makes the suite reject with a sentence naming it', async () => {
    const { ctx } = context({ only: ['alternatives.koffi.call.32'], sizes: [32] });
    const missing: BenchContext = { ...ctx, nativeBin: (name) => `/nonexistent/${name}` };
    await assert.rejects(alternatives(missing), /\/nonexistent\/ns_bench_addon\.node is missing/);
  });
});

describe('alternative transports when their peer dies', () => {
  const cases: [string, () => Promise<MessageLink>][] = [
    ["child_process IPC ('advanced')", () => childIpc('advanced')],
    ['the Unix socket', () => unixSocket()],
    ['the original 1 ms polled byte ring', () => originalRing(context().ctx.nativeBin('bench_original_ring'))],
  ];
  for (const [name, open] of cases) {
    test(`an echo over ${name} rejects, instead of hanging, when the peer process is killed with SIGKILL`, async () => {
      const link = await open();
      try {
        const p = new Uint8Array(64).fill(5);
        await link.echo(p);
        const pid = link.peerPid;
        assert.ok(pid !== undefined && pid > 0);
        process.kill(pid, 'SIGKILL');
        await assert.rejects(async () => {
          for (;;) await link.echo(p); // the kill takes effect within a few round trips at most
        }, /exited|closed|EPIPE|ECONNRESET/);
      } finally {
        await link.close();
      }
    });
  }
});

describe('bench suite paced', () => {
  test('a smoke run measures capacity, the three open-loop loads and the closed loop per transport with the contract fields', async () => {
    const { ctx, begun } = context();
    const planned = planPaced(ctx).map((p) => p.id);
    const { results } = await paced(ctx);
    assert.deepEqual(results.map((r) => r.id), planned);
    assert.deepEqual(begun, planned);
    for (const t of ['sidecar-thread', 'sidecar-process', 'postmessage']) {
      for (const s of ['capacity', 'load-10', 'load-50', 'load-90', 'closed-loop-10']) assert.ok(planned.includes(`paced.${t}.${s}.32`), `plan has paced.${t}.${s}.32`);
    }
    for (const r of results) {
      assertCommon(r, 'paced');
      assertLatency(r);
      assert.ok(Number.isFinite(r.cpu_ns_per_msg?.js) && Number.isFinite(r.cpu_ns_per_msg?.peer), `${r.id} has CPU per message on both sides`);
      if (r.pattern === 'paced') {
        assert.ok([0.1, 0.5, 0.9].includes(r.load_fraction as number), `${r.id} load_fraction`);
        assert.ok((r.offered_per_s ?? 0) > 0 && (r.msgs_per_s ?? 0) > 0, `${r.id} offered and achieved rates`);
        assert.match(r.note ?? '', r.id.includes('.closed-loop-') ? /recordValueWithExpectedInterval/ : /coordinated omission corrected/);
      } else {
        assert.equal(r.pattern, 'pipelined');
      }
    }
  });
});
