/**
 * Smoke test of the benchmark runner and the ring suite: `--quick` runs must finish and produce a JSON document of the
 * documented shape. Never checks a speed (timings on a shared 2-core machine are noise).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

// .out/test/bench-smoke.test.js → .out/bench/run.js
const runJs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'run.js');
const NUMERIC_FIELDS = ['message_bytes', 'msgs_per_s', 'rtt_p50_ns', 'rtt_p99_ns', 'gbytes_per_s', 'ns_per_call'] as const;

function runBench(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [runJs, ...args], { encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

describe('npm run bench', () => {
  test('an unknown option is refused with exit code 2 and the usage line', () => {
    const r = runBench(['--bogus']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Unknown argument '--bogus'/);
    assert.match(r.stderr, /usage: npm run bench/);
  });

  test('a named suite whose module does not exist is reported and makes the run fail', () => {
    const r = runBench(['no-such-suite', '--json']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /suite 'no-such-suite' skipped: its module .* does not exist/);
    const doc = JSON.parse(r.stdout) as unknown;
    assert.ok(isRecord(doc) && isRecord(doc.suites));
    assert.deepEqual(doc.suites, {});
  });

  test('ring --json --quick prints one JSON document with every scenario, baseline and target check', () => {
    const r = runBench(['ring', '--json', '--quick']);
    assert.equal(r.status, 0, `bench exited with ${r.status}; stderr:\n${r.stderr}`);
    const doc = JSON.parse(r.stdout) as unknown;
    assert.ok(isRecord(doc));
    assert.ok(isRecord(doc.machine));
    assert.equal(typeof doc.machine.cpus, 'number');
    assert.equal(typeof doc.machine.model, 'string');
    assert.equal(doc.machine.node, process.version);
    assert.ok(typeof doc.date === 'string' && !Number.isNaN(Date.parse(doc.date)));
    assert.ok(isRecord(doc.suites) && isRecord(doc.suites.ring));
    const { results, checks } = doc.suites.ring;
    assert.ok(Array.isArray(results) && results.length > 0);
    for (const res of results as unknown[]) {
      assert.ok(isRecord(res));
      assert.equal(res.suite, 'ring');
      assert.ok(typeof res.scenario === 'string' && res.scenario.length > 0);
      const present = NUMERIC_FIELDS.filter((f) => f in res);
      assert.ok(present.length >= 2, `scenario '${String(res.scenario)}' reports at least its size and one figure`);
      for (const f of present) {
        assert.ok(typeof res[f] === 'number' && Number.isFinite(res[f]) && (res[f] as number) > 0, `${String(res.scenario)}.${f} is a positive number`);
      }
    }
    const scenarios = (results as Array<{ scenario: string; baseline?: boolean }>).map((x) => x.scenario);
    for (const expected of [/JS → native thread, 32 B one way/, /JS → native process, 32 B one way/, /round trip.*spin/, /round trip.*park/, /64 KiB/]) {
      assert.ok(scenarios.some((s) => expected.test(s)), `a scenario matches ${expected}`);
    }
    assert.ok((results as Array<{ baseline?: boolean }>).filter((x) => x.baseline === true).length >= 6, 'the baselines run in the same run');
    assert.ok(Array.isArray(checks) && checks.length >= 6);
    for (const c of checks as unknown[]) {
      assert.ok(isRecord(c));
      assert.ok(typeof c.target === 'string' && c.target.length > 0);
      assert.equal(typeof c.value, 'number');
      assert.equal(typeof c.limit, 'number');
      assert.equal(typeof c.met, 'boolean');
    }
    assert.match(r.stderr, /== ring/);
    assert.match(r.stderr, /met|NOT MET/);
  });
});
