/**
 * The check a report generator makes before it trusts a document: that it is a `native-sidecar-bench/2`
 * BenchDocument (bench/lib/contract.ts) in the shape the reports read. A document of another schema (the schema-1
 * files docs/benchmarks-2026-11-26*.json, or a future schema) is refused rather than half rendered.
 */
import type { BenchDocument } from '../lib/contract.js';
import { NativeSidecarError } from '../../src/errors.js';

export const BENCH_SCHEMA = 'native-sidecar-bench/2';

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Returns `value` typed as a BenchDocument when it has the schema and the fields the reports read (results, checks,
 * machine, problems; each result with string suite/id/scenario/transport/kind/pattern). Pure, any thread. Throws a
 * NativeSidecarError with code ERR_INVALID_ARG and a sentence naming `what` (e.g. the file) and the fault otherwise.
 */
export function assertBenchDocument(value: unknown, what = 'the benchmark document'): BenchDocument {
  if (!isObject(value)) throw new NativeSidecarError('ERR_INVALID_ARG', `${what} is not a JSON object, so it is no ${BENCH_SCHEMA} document.`);
  if (value.schema !== BENCH_SCHEMA) {
    const got = typeof value.schema === 'string' ? `'${value.schema}'` : 'no schema field';
    throw new NativeSidecarError('ERR_INVALID_ARG', `${what} has ${got}, but the report generator reads only schema '${BENCH_SCHEMA}' documents (written by npm run bench).`);
  }
  for (const key of ['results', 'checks', 'problems'] as const) {
    if (!Array.isArray(value[key])) throw new NativeSidecarError('ERR_INVALID_ARG', `${what} has no array '${key}', which every ${BENCH_SCHEMA} document carries.`);
  }
  if (!isObject(value.machine)) throw new NativeSidecarError('ERR_INVALID_ARG', `${what} has no object 'machine', which every ${BENCH_SCHEMA} document carries.`);
  (value.results as unknown[]).forEach((r, i) => {
    if (!isObject(r)) throw new NativeSidecarError('ERR_INVALID_ARG', `${what}: results[${i}] is not an object.`);
    for (const key of ['suite', 'id', 'scenario', 'transport', 'kind', 'pattern'] as const) {
      if (typeof r[key] !== 'string') throw new NativeSidecarError('ERR_INVALID_ARG', `${what}: results[${i}] has no string '${key}'.`);
    }
  });
  (value.checks as unknown[]).forEach((c, i) => {
    if (!isObject(c) || typeof c.target !== 'string' || typeof c.met !== 'boolean') {
      throw new NativeSidecarError('ERR_INVALID_ARG', `${what}: checks[${i}] is not a target check with a string 'target' and a boolean 'met'.`);
    }
  });
  return value as unknown as BenchDocument;
}
