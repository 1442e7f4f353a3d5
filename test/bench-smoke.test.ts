/**
 * Smoke test of the benchmark runner (bench/run.ts) and every suite: `--smoke` runs must finish and produce a
 * schema-2 document (bench/lib/contract.ts) of the documented shape, written to --out. Never checks a speed (timings
 * on a shared 2-core machine are noise).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

// .out/test/bench-smoke.test.js → .out/bench/run.js
const runJs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'run.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ns-bench-smoke-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function runBench(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [runJs, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const KINDS = ['ours', 'alternative', 'limit'];
const PATTERNS = ['one-way', 'round-trip', 'pipelined', 'paced', 'call', 'resource'];
const PROGRESS = /^\[(\d+)\/(\d+)\] .+ — elapsed \d+:\d\d, eta \d+:\d\d$/m;

/** Every number anywhere in `v`, with its path. */
function numbers(v: unknown, at: string, out: Array<[string, number]> = []): Array<[string, number]> {
  if (typeof v === 'number') out.push([at, v]);
  else if (Array.isArray(v)) v.forEach((x, i) => numbers(x, `${at}[${i}]`, out));
  else if (isRecord(v)) for (const [k, x] of Object.entries(v)) numbers(x, `${at}.${k}`, out);
  return out;
}

/** Checks the shape of one result; returns its id. */
function checkResult(res: unknown): string {
  assert.ok(isRecord(res), 'a result is an object');
  for (const f of ['id', 'suite', 'scenario', 'transport'] as const) {
    assert.ok(typeof res[f] === 'string' && (res[f] as string).length > 0, `result ${String(res.id)} has a non-empty ${f}`);
  }
  const id = res.id as string;
  assert.ok(id.startsWith(`${String(res.suite)}.`), `the id ${id} starts with its suite`);
  assert.ok(KINDS.includes(res.kind as string), `${id}: kind ${String(res.kind)} is one of ${KINDS.join(', ')}`);
  assert.ok(PATTERNS.includes(res.pattern as string), `${id}: pattern ${String(res.pattern)} is one of ${PATTERNS.join(', ')}`);
  assert.ok(Number.isInteger(res.runs) && (res.runs as number) >= 1, `${id}: runs is a positive integer`);
  const figures = ['msgs_per_s', 'gbytes_per_s', 'latency_ns', 'ns_per_call', 'value'].filter((f) => f in res);
  assert.ok(figures.length >= 1, `${id} reports at least one figure`);
  // A difference of two RSS readings may be negative (memory was returned); every other number is a count or a time.
  const signed = res.unit === 'bytes' && /growth|per-sidecar/.test(id);
  for (const [where, n] of numbers(res, id)) {
    assert.ok(Number.isFinite(n), `${where} is finite (${n})`);
    if (!(signed && where === `${id}.value`)) assert.ok(n >= 0, `${where} is ≥ 0 (${n})`);
  }
  if (isRecord(res.latency_ns)) {
    for (const p of ['p50', 'p99', 'p999', 'max', 'count']) assert.equal(typeof res.latency_ns[p], 'number', `${id}: latency_ns.${p}`);
  }
  return id;
}

describe('npm run bench', () => {
  test('bad arguments are refused with exit code 2 and a sentence naming them', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--bogus'], /Unknown argument '--bogus'/],
      [['--sizes', '3x'], /message size '3x' of --sizes/],
      [['--sizes', '4'], /message size '4' of --sizes/],
      [['--duration', '0'], /--duration needs a whole number of milliseconds/],
      [['--only'], /--only needs a comma list of globs/],
      [['--only', 'ring.[x]'], /pattern 'ring\.\[x\]' is not a glob/],
      [['no-such-suite'], /There is no suite named 'no-such-suite'/],
      [['--full', '--smoke'], /exclude each other/],
      [['--quick'], /no longer exists.*--smoke/],
      [['ring', '--only', 'nothing.matches.this'], /select no scenario/],
    ];
    for (const [args, message] of cases) {
      const r = runBench(args);
      assert.equal(r.status, 2, `${args.join(' ')} exits 2; stderr:\n${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.match(r.stderr, /usage: npm run bench -- \[suite\.\.\.\]/, `${args.join(' ')} prints the usage`);
    }
  });

  test('--help prints the usage and exits 0', () => {
    const r = runBench(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stderr, /usage: npm run bench -- \[suite\.\.\.\].*--full.*--only/s);
  });

  test('--smoke --json runs every suite and writes one schema-2 document to stdout, bench-<timestamp>.json and latest.json', () => {
    const out = path.join(tmp, 'all');
    const r = runBench(['--smoke', '--json', '--out', out]);
    assert.equal(r.status, 0, `bench exited with ${r.status}; stderr:\n${r.stderr}`);
    const doc = JSON.parse(r.stdout) as unknown;
    assert.ok(isRecord(doc));
    assert.equal(doc.schema, 'native-sidecar-bench/2');
    assert.equal(doc.depth, 'smoke');
    assert.ok(typeof doc.date === 'string' && !Number.isNaN(Date.parse(doc.date)));
    assert.ok(typeof doc.duration_s === 'number' && doc.duration_s > 0);
    assert.ok(isRecord(doc.machine));
    assert.equal(doc.machine.node, process.version);
    assert.equal(doc.machine.kernel, os.release());
    assert.equal(doc.machine.cores, os.cpus().length);
    assert.equal(typeof doc.machine.cpu_model, 'string');
    assert.ok(Array.isArray(doc.machine.loadavg_start) && Array.isArray(doc.machine.loadavg_end) && doc.machine.loadavg_end.length === 3);

    assert.ok(Array.isArray(doc.results) && doc.results.length > 0);
    const ids = (doc.results as unknown[]).map(checkResult);
    assert.equal(new Set(ids).size, ids.length, 'scenario ids are unique');
    const suites = new Set((doc.results as Array<{ suite: string }>).map((x) => x.suite));
    for (const s of ['ring', 'sidecar', 'limits', 'calls', 'sandbox', 'resources', 'pool']) assert.ok(suites.has(s), `suite ${s} produced results`);
    for (const expected of [
      'limits.c-ring-limit.one-way.32',
      'ring.c-ring-limit.one-way.32',
      'ring.js-native-thread.one-way.stage.32',
      'ring.js-js-sab.round-trip.spin.32',
      'ring.js-native-process.round-trip.park-default.32',
      'ring.c-futex-pingpong.round-trip',
      'sidecar.thread.round-trip.default.32',
      'sidecar.process.pipelined.default.32',
      'sidecar.thread.one-way.default.1m',
      'sidecar.postmessage-echo.round-trip.32',
      'resources.thread.idle-cpu',
      'resources.process.child-rss',
      'pool.node-crypto.digest-cost',
      'pool.sidecar-pool.size-1.pipelined.4k',
      'pool.sidecar-pool.size-2.pipelined.4k',
      'pool.sidecar-pool.size-2-concurrency-4.pipelined.4k',
      'pool.piscina.threads-2.pipelined.4k',
      'pool.child-process-json.children-2.pipelined.4k',
      'pool.sidecar-pool.size-2.load-50.4k',
      'pool.sidecar-pool.size-2.load-90.4k',
      'pool.sidecar-pool.size-2-spin.pipelined.4k',
      'pool.sidecar-pool.scaling-2-vs-1',
      'pool.sidecar-pool-spin.scaling-2-vs-1',
      'pool.piscina.scaling-2-vs-1',
      'pool.child-process-json.scaling-2-vs-1',
      'pool.sidecar-pool.abort-to-reject',
      'pool.sidecar-pool.abort-to-restart',
    ]) {
      assert.ok(ids.includes(expected), `a result has id ${expected}`);
    }
    const cpu = (doc.results as Array<{ id: string; cpu_ns_per_msg?: { js?: number; peer?: number } }>).find((x) => x.id === 'ring.js-native-process.one-way.stage.32');
    assert.ok(cpu?.cpu_ns_per_msg?.js !== undefined && cpu.cpu_ns_per_msg.peer !== undefined, 'a scenario with a peer process reports CPU per message on both sides');
    // The pool suite's cancellation rows: one latency per aborted request, in ms as the value.
    for (const id of ['pool.sidecar-pool.abort-to-reject', 'pool.sidecar-pool.abort-to-restart']) {
      const abort = (doc.results as Array<{ id: string; pattern: string; unit?: string; latency_ns?: { count: number } }>).find((x) => x.id === id);
      assert.ok(abort?.pattern === 'resource' && abort.unit === 'ms' && abort.latency_ns?.count === 5, `${id} is a resource in ms over 5 aborted requests`);
    }
    const paced = (doc.results as Array<{ id: string; load_fraction?: number; offered_per_s?: number }>).find((x) => x.id === 'pool.sidecar-pool.size-2.load-90.4k');
    assert.ok(paced?.load_fraction === 0.9 && paced.offered_per_s !== undefined && paced.offered_per_s > 0, 'the pool paced at 90 % states its load fraction and offered rate');

    assert.ok(Array.isArray(doc.checks) && doc.checks.length >= 6);
    for (const c of doc.checks as unknown[]) {
      assert.ok(isRecord(c));
      assert.ok(typeof c.target === 'string' && c.target.length > 0);
      assert.equal(typeof c.value, 'number');
      assert.equal(typeof c.limit, 'number');
      assert.ok(['>=', '<=', '<'].includes(c.op as string));
      assert.equal(typeof c.met, 'boolean');
    }
    assert.ok(Array.isArray(doc.problems));

    const files = readdirSync(out);
    const stamped = files.filter((f) => /^bench-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.json$/.test(f));
    assert.equal(stamped.length, 1, `one bench-<timestamp>.json in ${files.join(', ')}`);
    assert.deepEqual(JSON.parse(readFileSync(path.join(out, stamped[0]!), 'utf8')), doc);
    assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'latest.json'), 'utf8')), doc);

    // Progress on stderr, one line per scenario when stderr is not a terminal, counting up to m.
    const lines = r.stderr.split('\n').filter((l) => PROGRESS.test(l));
    assert.ok(lines.length >= ids.length / 2, `progress lines on stderr (${lines.length})`);
    const [, n, m] = PROGRESS.exec(lines[lines.length - 1]!)!;
    assert.equal(n, m, 'the last progress line is step m of m');
    assert.match(r.stderr, /== ring/, 'with --json the tables go to stderr');
  });

  test('--only selects scenarios by globs over their ids', () => {
    const out = path.join(tmp, 'only');
    const r = runBench(['--smoke', '--json', '--out', out, '--only', 'ring.c-*,*.round-trip.default.32']);
    assert.equal(r.status, 0, `bench exited with ${r.status}; stderr:\n${r.stderr}`);
    const doc = JSON.parse(r.stdout) as { results: Array<{ id: string }> };
    const ids = doc.results.map((x) => x.id);
    assert.ok(ids.includes('ring.c-ring-limit.one-way.32') && ids.includes('sidecar.thread.round-trip.default.32'), ids.join(', '));
    for (const id of ids) assert.match(id, /^ring\.c-.*|.*\.round-trip\.default\.32$/);
    assert.ok(!ids.some((id) => id.startsWith('limits.') || id.startsWith('resources.')), 'suites without a selected scenario do not run');
  });
});
