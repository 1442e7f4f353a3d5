/**
 * The columns of the scenario tables of both reports (docs/benchmarks.md and the HTML report): which figure of a
 * BenchResult each column shows and how it is formatted. A table shows only the columns that have a value in at least
 * one of its rows, so a suite of resource figures does not carry empty latency columns.
 */
import type { BenchResult } from '../lib/contract.js';
import { bytes, duration, percent, sig3, si, valueWithUnit } from './format.js';

export interface Column {
  key: string;
  /** Header text. */
  title: string;
  /** Right-aligned (figures) or left-aligned (text). */
  numeric: boolean;
  /** The cell's text; '' when the result has no such figure. */
  cell(r: BenchResult): string;
}

function num(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

/** Every column, in table order. `id` first, since it is what `--only` matches. */
export const COLUMNS: readonly Column[] = [
  { key: 'id', title: 'id', numeric: false, cell: (r) => r.id },
  { key: 'scenario', title: 'scenario', numeric: false, cell: (r) => r.scenario },
  { key: 'transport', title: 'transport', numeric: false, cell: (r) => r.transport },
  { key: 'kind', title: 'kind', numeric: false, cell: (r) => r.kind },
  { key: 'pattern', title: 'pattern', numeric: false, cell: (r) => r.pattern },
  { key: 'size', title: 'size', numeric: true, cell: (r) => bytes(num(r.message_bytes)) },
  { key: 'msgs_per_s', title: 'msgs/s', numeric: true, cell: (r) => si(num(r.msgs_per_s)) },
  { key: 'gbytes_per_s', title: 'GB/s', numeric: true, cell: (r) => sig3(num(r.gbytes_per_s) ?? Number.NaN) },
  { key: 'offered_per_s', title: 'offered/s', numeric: true, cell: (r) => si(num(r.offered_per_s)) },
  { key: 'load_fraction', title: 'load', numeric: true, cell: (r) => percent(num(r.load_fraction)) },
  { key: 'p50', title: 'p50', numeric: true, cell: (r) => duration(num(r.latency_ns?.p50)) },
  { key: 'p99', title: 'p99', numeric: true, cell: (r) => duration(num(r.latency_ns?.p99)) },
  { key: 'p999', title: 'p99.9', numeric: true, cell: (r) => duration(num(r.latency_ns?.p999)) },
  { key: 'max', title: 'max', numeric: true, cell: (r) => duration(num(r.latency_ns?.max)) },
  { key: 'ns_per_call', title: 'per call', numeric: true, cell: (r) => duration(num(r.ns_per_call)) },
  { key: 'cpu_js', title: 'CPU/msg JS', numeric: true, cell: (r) => duration(num(r.cpu_ns_per_msg?.js)) },
  { key: 'cpu_peer', title: 'CPU/msg peer', numeric: true, cell: (r) => duration(num(r.cpu_ns_per_msg?.peer)) },
  { key: 'value', title: 'value', numeric: true, cell: (r) => valueWithUnit(num(r.value), r.unit) },
  { key: 'runs', title: 'runs', numeric: true, cell: (r) => (num(r.runs) === undefined ? '' : String(r.runs)) },
  { key: 'spread', title: 'spread', numeric: true, cell: (r) => percent(num(r.spread)) },
];

/** The columns of COLUMNS that have a value in at least one of `results`, in table order, minus `skip` (keys). Pure. */
export function columnsFor(results: readonly BenchResult[], skip: readonly string[] = []): Column[] {
  return COLUMNS.filter((c) => !skip.includes(c.key) && results.some((r) => c.cell(r) !== ''));
}
