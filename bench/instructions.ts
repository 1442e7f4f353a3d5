/**
 * Instructions per record of the ring's write paths, counted with `valgrind --tool=callgrind` (issue 11: "where a
 * target cannot be reached, say what bounds it with a measurement"). Timing on a shared 2-core virtual machine
 * wanders by 2×; instruction counts do not, and they tell where a per-record path spends its work.
 *
 * Each variant runs in a fresh process under callgrind twice, with N and 2N records; (Ir(2N) − Ir(N)) / N is the
 * cost of one record with start-up, JIT compilation and teardown cancelled out. Node runs with
 * --no-concurrent-recompilation so that TurboFan compiles on the main thread and the counts are those of optimized
 * code (with background compilation, valgrind delays the compiler thread and much of the run stays unoptimized).
 *
 * Variants, all 32-byte records in one thread through a 4 MiB ring, producer and consumer in turn:
 * - `js stage + drainAt`: Ring.stage() per record (publish every 64), then drainAt() with an empty handler;
 * - `js stageFrames + drainAt`: the same records as pre-framed batches of 64 — the cost of reading them, and of the
 *   batch path;
 * - `js Uint8Array.set 32 B`: the copy that stage() makes, alone (TypedArray.prototype.set of 32 bytes in a loop);
 * - `C ns_ring_stage + ns_ring_read`: native/bench/stage_count.c, the same loop in C.
 *
 * Standalone (not a suite: it takes minutes under valgrind): `node .out/bench/instructions.js [--records N]`.
 * Needs valgrind (apt-get install valgrind); prints one line per variant.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const INDEX = path.join(repoRoot, '.out', 'src', 'index.js');

/** The JavaScript workload, run as `node -e` with the record count and the variant in argv. */
const JS_WORKLOAD = `
const { Ring } = await import(${JSON.stringify('file://' + INDEX)});
const n = Number(process.argv[1]), variant = process.argv[2];
const CAP = 1 << 22;
const buffer = new ArrayBuffer(Ring.segmentSize(CAP));
const producer = Ring.create(buffer, { capacity: CAP, waitPolicy: { mode: 'spin' } });
const consumer = Ring.attach(buffer, { waitPolicy: { mode: 'spin' } });
const payload = new Uint8Array(32).fill(1);
const frames = new Uint8Array(40 * 64);
const bytes = new Uint8Array(buffer);
const noop = () => {};
let done = 0;
while (done < n) {
  let k = 0;
  if (variant === 'stage') {
    while (done < n && producer.stage(1, payload)) { done++; if ((++k & 63) === 0) producer.publish(); }
  } else if (variant === 'frames') {
    while (done < n) { const m = producer.stageFrames(1, frames, 32, Math.min(64, n - done)); if (m === 0) break; done += m; producer.publish(); }
  } else {
    while (done < n && k < 50000) { bytes.set(payload, 1024 + ((k * 40) & 0xffff8)); done++; k++; }
  }
  producer.publish();
  consumer.drainAt(noop);
}
`;

function records(): number {
  const i = process.argv.indexOf('--records');
  const n = i >= 0 ? Number(process.argv[i + 1]) : 1_000_000;
  if (!Number.isInteger(n) || n < 1000) throw new Error('--records must be an integer ≥ 1000');
  return n;
}

/** Instructions callgrind counted for one run of `command`. */
function countIr(command: string, args: string[], dir: string): number {
  const out = path.join(dir, `cg.${Math.random().toString(36).slice(2)}`);
  const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, command, ...args], { encoding: 'utf8' });
  if (r.error !== undefined) throw new Error(`valgrind could not be run (${r.error.message}); install it with apt-get install valgrind.`);
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (r.status !== 0 || m === null) throw new Error(`callgrind run of ${command} failed (status ${r.status}):\n${r.stderr.slice(-2000)}`);
  return Number(m[1]);
}

function perRecord(command: string, args: (n: number) => string[], n: number, dir: string): number {
  const a = countIr(command, args(n), dir);
  const b = countIr(command, args(2 * n), dir);
  return (b - a) / n;
}

const n = records();
const dir = mkdtempSync(path.join(tmpdir(), 'ns-callgrind-'));
try {
  const node = (variant: string) => (count: number) => ['--no-concurrent-recompilation', '--input-type=module', '-e', JS_WORKLOAD, String(count), variant];
  const rows: [string, number][] = [
    ['js stage + drainAt', perRecord(process.execPath, node('stage'), n, dir)],
    ['js stageFrames + drainAt', perRecord(process.execPath, node('frames'), n, dir)],
    ['js Uint8Array.set 32 B', perRecord(process.execPath, node('set'), n, dir)],
    ['C ns_ring_stage + ns_ring_read', perRecord(path.join(repoRoot, 'build', 'Release', 'bench_stage_count'), (c) => [String(c)], n, dir)],
  ];
  console.log(`instructions per 32-byte record (callgrind, (Ir(2N) − Ir(N)) / N, N = ${n}):`);
  for (const [name, ir] of rows) console.log(`  ${name.padEnd(32)} ${ir.toFixed(0)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
