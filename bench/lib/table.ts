/** Plain-text rendering of suite results and target checks for a terminal. */
import type { BenchResult, SuiteResult, TargetCheck } from './contract.js';

/** Human form of a number of nanoseconds: "420 ns", "10.5 µs", "3.20 ms". */
export function formatNs(ns: number): string {
  if (ns < 1e3) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 1)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

/** Human form of a rate: "78.1 M/s", "390 k/s". */
export function formatRate(perS: number): string {
  if (perS >= 1e6) return `${(perS / 1e6).toFixed(perS >= 1e8 ? 0 : 2)} M/s`;
  if (perS >= 1e3) return `${(perS / 1e3).toFixed(1)} k/s`;
  return `${perS.toFixed(1)} /s`;
}

/** Human form of a byte count: "32 B", "1.5 KiB", "12.3 MiB". */
export function formatBytes(b: number): string {
  const a = Math.abs(b);
  if (a >= 1 << 30) return `${(b / 2 ** 30).toFixed(2)} GiB`;
  if (a >= 1 << 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  if (a >= 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${b.toFixed(0)} B`;
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

function resourceValue(r: BenchResult): string {
  if (r.value === undefined) return '';
  if (r.unit === 'bytes') return formatBytes(r.value);
  if (r.unit?.startsWith('percent')) return `${r.value.toFixed(2)} %`;
  return `${formatValue(r.value)}${r.unit ? ` ${r.unit}` : ''}`;
}

function cells(r: BenchResult): string[] {
  const l = r.latency_ns;
  const cpu = r.cpu_ns_per_msg;
  return [
    r.id + (r.kind === 'limit' ? ' [limit]' : r.kind === 'alternative' ? ' [alt]' : ''),
    r.message_bytes === undefined ? '' : String(r.message_bytes),
    r.msgs_per_s === undefined ? '' : formatRate(r.msgs_per_s),
    r.gbytes_per_s === undefined ? '' : r.gbytes_per_s.toFixed(2),
    l === undefined ? '' : formatNs(l.p50),
    l === undefined ? '' : formatNs(l.p99),
    l === undefined ? '' : formatNs(l.p999),
    r.ns_per_call === undefined ? '' : r.ns_per_call.toFixed(1),
    cpu?.js === undefined ? '' : formatNs(cpu.js),
    cpu?.peer === undefined ? '' : formatNs(cpu.peer),
    resourceValue(r),
    `${r.runs}${r.spread === undefined ? '' : ` ±${(r.spread * 100).toFixed(0)}%`}`,
    r.note ?? '',
  ];
}

function layout(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return rows
    .map((row) => row.map((c, i) => c + ' '.repeat((widths[i] ?? 0) - [...c].length)).join('  ').trimEnd())
    .join('\n');
}

/** One line per check: "met" or "NOT MET", the target sentence, the value and the limit. */
export function checkLine(c: TargetCheck): string {
  return `  ${c.met ? 'met    ' : 'NOT MET'}  ${c.target}: ${formatValue(c.value)} (${c.op} ${formatValue(c.limit)})`;
}

/** The table of one suite, then its target checks. Columns that no result fills are left out. */
export function renderSuite(name: string, suite: SuiteResult): string {
  const header = ['id', 'bytes', 'msgs/s', 'GB/s', 'p50', 'p99', 'p99.9', 'ns/call', 'cpu js/msg', 'cpu peer/msg', 'value', 'runs', 'note'];
  const body = suite.results.map(cells);
  const used = header.map((_, i) => i === 0 || body.some((row) => (row[i] ?? '') !== ''));
  const pick = (row: string[]): string[] => row.filter((_, i) => used[i]);
  const lines = [`== ${name}`, layout([pick(header), ...body.map(pick)])];
  if (suite.checks.length > 0) {
    lines.push('targets:');
    lines.push(...suite.checks.map(checkLine));
  }
  return lines.join('\n');
}
