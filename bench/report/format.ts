/**
 * Number and text formatting shared by the Markdown and HTML reports (bench/report/markdown.ts, html.ts).
 *
 * Every function is pure and locale-independent (no toLocaleString, no Intl), so the same figure gives the same
 * characters on every machine: docs/benchmarks.md must be byte-identical for the same JSON. Called on any thread;
 * a missing or non-finite figure gives the empty string, never an exception.
 */

/** Three significant digits, plain decimal notation (no exponent), thousands unseparated below 10,000. */
export function sig3(x: number): string {
  if (!Number.isFinite(x)) return '';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1000) return String(Math.round(x));
  const digits = Math.max(0, 2 - Math.floor(Math.log10(abs)));
  return x.toFixed(Math.min(digits, 6));
}

/** A count or rate with an SI prefix: 531000 → "531 k", 2.28e7 → "22.8 M". */
export function si(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '';
  const abs = Math.abs(x);
  if (abs >= 1e9) return `${sig3(x / 1e9)} G`;
  if (abs >= 1e6) return `${sig3(x / 1e6)} M`;
  if (abs >= 1e3) return `${sig3(x / 1e3)} k`;
  return sig3(x);
}

/** A duration given in nanoseconds, in the unit that keeps it readable: "639 ns", "1.32 µs", "4.00 ms", "1.20 s". */
export function duration(ns: number | undefined): string {
  if (ns === undefined || !Number.isFinite(ns)) return '';
  const abs = Math.abs(ns);
  if (abs >= 1e9) return `${sig3(ns / 1e9)} s`;
  if (abs >= 1e6) return `${sig3(ns / 1e6)} ms`;
  if (abs >= 1e3) return `${sig3(ns / 1e3)} µs`;
  return `${sig3(ns)} ns`;
}

/** A message size: 32 → "32 B", 1024 → "1 KiB", 65536 → "64 KiB", 1048576 → "1 MiB"; undefined → "". */
export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '';
  const units: Array<[number, string]> = [[1024 ** 3, 'GiB'], [1024 ** 2, 'MiB'], [1024, 'KiB']];
  for (const [scale, unit] of units) {
    if (Math.abs(n) >= scale) return n % scale === 0 ? `${n / scale} ${unit}` : `${sig3(n / scale)} ${unit}`;
  }
  return `${n} B`;
}

/** A fraction as a percentage: 0.1 → "10 %", 0.052 → "5.2 %". */
export function percent(fraction: number | undefined): string {
  if (fraction === undefined || !Number.isFinite(fraction)) return '';
  return `${sig3(fraction * 100)} %`;
}

/** A resource scenario's value with its unit: bytes as KiB/MiB, anything else as the figure and the unit. */
export function valueWithUnit(value: number | undefined, unit: string | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '';
  if (unit === 'bytes') return bytes(value);
  return unit ? `${sig3(value)} ${unit}` : sig3(value);
}

/** The comparison of a target check as text: '>=' → '≥', '<=' → '≤'. */
export function opText(op: '>=' | '<=' | '<'): string {
  return op === '>=' ? '≥' : op === '<=' ? '≤' : '<';
}
