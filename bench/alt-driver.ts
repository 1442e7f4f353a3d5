/**
 * A small stand-alone driver of the `alternatives` and `paced` suites (until, and besides, bench/run.ts):
 *   node .out/bench/alt-driver.js <alternatives|paced> [--depth smoke|quick|full] [--only <id prefix>[,…]]
 *        [--sizes 32,1024] [--duration ms] [--runs n]
 * Builds a BenchContext (contract schema 2), runs the suite and prints its SuiteResult as JSON on stdout; progress on
 * stderr. Exit code 0, 1 when the suite threw, 2 on bad arguments. Main JavaScript thread.
 */
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { DEFAULT_SIZES, type BenchContext, type SuiteResult } from './lib/contract.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DURATION = { smoke: 100, quick: 1000, full: 3000 } as const;

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: node .out/bench/alt-driver.js <alternatives|paced> [--depth smoke|quick|full] [--only prefix,…] [--sizes a,b] [--duration ms] [--runs n]\n`);
  process.exit(2);
}

export function makeContext(depth: BenchContext['depth'], o: { only?: string[]; sizes?: number[]; durationMs?: number; runs?: number; log?: (l: string) => void } = {}): BenchContext {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  let n = 0;
  const start = Date.now();
  return {
    depth,
    quick: depth === 'smoke',
    durationMs: o.durationMs ?? DURATION[depth],
    runs: o.runs ?? (depth === 'smoke' ? 1 : 3),
    sizes: o.sizes ?? DEFAULT_SIZES,
    selected: (id) => o.only === undefined || o.only.some((p) => id.startsWith(p)),
    log,
    begin: (id, title) => log(`[${++n}] ${((Date.now() - start) / 1000).toFixed(1)} s ${id}: ${title}`),
    nativeBin: (name) => path.join(repoRoot, 'build', 'Release', name),
  };
}

async function main(): Promise<void> {
  const [suite, ...rest] = process.argv.slice(2);
  if (suite !== 'alternatives' && suite !== 'paced') usage(`Unknown suite '${String(suite)}'.`);
  let depth: BenchContext['depth'] = 'quick';
  const o: Parameters<typeof makeContext>[1] = {};
  for (let i = 0; i < rest.length; i += 2) {
    const [k, v] = [rest[i], rest[i + 1]];
    if (v === undefined) usage(`The option '${String(k)}' needs a value.`);
    if (k === '--depth' && (v === 'smoke' || v === 'quick' || v === 'full')) depth = v;
    else if (k === '--only') o.only = v.split(',');
    else if (k === '--sizes') o.sizes = v.split(',').map(Number);
    else if (k === '--duration') o.durationMs = Number(v);
    else if (k === '--runs') o.runs = Number(v);
    else usage(`Unknown argument '${String(k)}'.`);
  }
  const ctx = makeContext(depth, o);
  const mod = (await import(`./${suite}.js`)) as { default: (c: BenchContext) => Promise<SuiteResult> };
  const load0 = loadavg();
  const res = await mod.default(ctx);
  process.stdout.write(`${JSON.stringify({ loadavg_start: load0, loadavg_end: loadavg(), ...res }, null, 1)}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
