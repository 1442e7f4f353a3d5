/**
 * The charts of a benchmark run, as Vega-Lite specifications built from a BenchDocument (schema
 * `native-sidecar-bench/2`, bench/lib/contract.ts). One specification serves both outputs: bench/report/svg.ts renders
 * it to an SVG file in Node (the images of docs/benchmarks.md) and bench/report/html.ts compiles it into the
 * interactive HTML report, where Vega draws it in the browser.
 *
 * Every value axis is logarithmic (the figures span five orders of magnitude); the colour always encodes the
 * scenario's kind, so ours, the alternatives and the machine's limits are told apart in every chart. A chart whose
 * scenarios are absent from the document is left out, never drawn empty.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { BenchDocument, BenchResult, ScenarioKind } from '../lib/contract.js';
import { bytes } from './format.js';

/** One chart of the report. */
export interface ReportChart {
  /** File-name and element-id part: docs/benchmarks-<slug>.svg, `#chart-<slug>` in the HTML. */
  slug: string;
  title: string;
  /** One sentence saying what the chart shows. */
  description: string;
  /** Data rows the chart draws (each becomes at least one mark). */
  rows: number;
  spec: TopLevelSpec;
}

const KIND_DOMAIN: ScenarioKind[] = ['ours', 'alternative', 'limit'];
const KIND_RANGE = ['#0072b2', '#e69f00', '#4d4d4d'];

const colourByKind = {
  field: 'kind',
  type: 'nominal',
  title: 'kind',
  scale: { domain: KIND_DOMAIN, range: KIND_RANGE },
  legend: { orient: 'top' },
} as const;

const baseConfig = {
  font: 'sans-serif',
  view: { stroke: '#dddddd' },
  axis: { labelFontSize: 10, titleFontSize: 11 },
  header: { labelFontSize: 11, labelFontWeight: 'bold' },
} as const;

/** A row of a chart's data: plain JSON, so the same rows go into the SVG and into the HTML page. */
type Row = Record<string, string | number>;

function sizeLabel(r: BenchResult): string {
  return r.message_bytes === undefined ? 'no size' : bytes(r.message_bytes);
}

/**
 * Labels that are unique among the results of one chart: the scenario title, then with the size, then with the id
 * appended where titles repeat (a chart with two rows of the same label would draw them on top of each other).
 */
function uniqueLabels(results: BenchResult[], withSize: boolean): Map<BenchResult, string> {
  const first = results.map((r) => (withSize && r.message_bytes !== undefined && !r.scenario.includes(sizeLabel(r)) ? `${r.scenario}, ${sizeLabel(r)}` : r.scenario));
  // Faceted charts (withSize false) draw each size in its own panel: a label only has to be unique within its size.
  const key = (r: BenchResult, l: string) => (withSize ? l : `${sizeLabel(r)}\u0000${l}`);
  const counts = new Map<string, number>();
  results.forEach((r, i) => counts.set(key(r, first[i] as string), (counts.get(key(r, first[i] as string)) ?? 0) + 1));
  const out = new Map<BenchResult, string>();
  results.forEach((r, i) => {
    const l = first[i] as string;
    out.set(r, (counts.get(key(r, l)) ?? 0) > 1 ? `${l} [${r.id}]` : l);
  });
  return out;
}

/**
 * The left end of a logarithmic bar axis: the power of ten at or below the smallest value. Vega-Lite draws a bar on a
 * log scale from zero, which a log scale cannot place (every bar came out zero wide), so bars start here instead.
 */
function logBase(values: number[]): number {
  return 10 ** Math.floor(Math.log10(Math.min(...values)));
}

function positive(x: number | undefined): x is number {
  return x !== undefined && Number.isFinite(x) && x > 0;
}

function throughputChart(doc: BenchDocument, pattern: 'one-way' | 'pipelined'): ReportChart | undefined {
  const results = doc.results.filter((r) => r.pattern === pattern && positive(r.msgs_per_s));
  if (results.length === 0) return undefined;
  const labels = uniqueLabels(results, false);
  const values: Row[] = results.map((r) => ({
    id: r.id,
    label: labels.get(r) as string,
    transport: r.transport,
    kind: r.kind,
    size: sizeLabel(r),
    size_bytes: r.message_bytes ?? -1,
    msgs_per_s: r.msgs_per_s as number,
  }));
  const title = pattern === 'one-way' ? 'Throughput, one way' : 'Throughput, pipelined requests';
  const base = logBase(values.map((v) => v.msgs_per_s as number));
  return {
    slug: `throughput-${pattern}`,
    title,
    description: `Messages per second (log scale) of every ${pattern} scenario, per transport and message size.`,
    rows: values.length,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      data: { values },
      facet: {
        row: { field: 'size', type: 'ordinal', title: null, sort: { field: 'size_bytes', op: 'min' }, header: { labelAngle: 0, labelAlign: 'left', labelOrient: 'top' } },
      },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: 420,
        height: { step: 16 },
        mark: { type: 'bar', tooltip: true },
        encoding: {
          y: { field: 'label', type: 'nominal', sort: '-x', title: null, axis: { labelLimit: 560 } },
          x: { field: 'msgs_per_s', type: 'quantitative', scale: { type: 'log', domainMin: base }, title: 'messages per second (log scale)', axis: { format: '~s' } },
          x2: { datum: base },
          color: colourByKind,
          tooltip: [
            { field: 'label', title: 'scenario' },
            { field: 'transport' },
            { field: 'size' },
            { field: 'msgs_per_s', title: 'msgs/s', format: '.3s' },
            { field: 'id' },
          ],
        },
      },
      config: baseConfig,
    } as TopLevelSpec,
  };
}

const PERCENTILES = [
  { key: 'p50', title: 'p50' },
  { key: 'p99', title: 'p99' },
  { key: 'p999', title: 'p99.9' },
] as const;

function roundTripChart(doc: BenchDocument): ReportChart | undefined {
  const results = doc.results.filter((r) => r.pattern === 'round-trip' && r.latency_ns !== undefined && positive(r.latency_ns.p50));
  if (results.length === 0) return undefined;
  const labels = uniqueLabels(results, false);
  const values: Row[] = [];
  for (const r of results) {
    const lat = r.latency_ns as NonNullable<BenchResult['latency_ns']>;
    for (const p of PERCENTILES) {
      if (!positive(lat[p.key])) continue;
      values.push({
        id: r.id,
        label: labels.get(r) as string,
        transport: r.transport,
        kind: r.kind,
        size: sizeLabel(r),
        size_bytes: r.message_bytes ?? -1,
        percentile: p.title,
        latency_us: lat[p.key] / 1000,
        lo_us: lat.p50 / 1000,
        hi_us: (positive(lat.p999) ? lat.p999 : positive(lat.p99) ? lat.p99 : lat.p50) / 1000,
      });
    }
  }
  const title = 'Round-trip latency, p50 / p99 / p99.9';
  return {
    slug: 'latency-round-trip',
    title,
    description: 'Round-trip latency in microseconds (log scale) of every closed-loop round-trip scenario: p50, p99 and p99.9, per transport and message size.',
    rows: values.length,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      data: { values },
      facet: {
        row: { field: 'size', type: 'ordinal', title: null, sort: { field: 'size_bytes', op: 'min' }, header: { labelAngle: 0, labelAlign: 'left', labelOrient: 'top' } },
      },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: 420,
        height: { step: 16 },
        encoding: {
          y: { field: 'label', type: 'nominal', sort: { field: 'lo_us', op: 'min' }, title: null, axis: { labelLimit: 560 } },
        },
        layer: [
          {
            transform: [{ filter: "datum.percentile === 'p50'" }],
            mark: { type: 'rule', strokeWidth: 1.5 },
            encoding: {
              x: { field: 'lo_us', type: 'quantitative', scale: { type: 'log' }, title: 'latency, µs (log scale)' },
              x2: { field: 'hi_us' },
              color: colourByKind,
            },
          },
          {
            mark: { type: 'point', filled: true, size: 45, tooltip: true },
            encoding: {
              x: { field: 'latency_us', type: 'quantitative', scale: { type: 'log' } },
              color: colourByKind,
              shape: { field: 'percentile', type: 'nominal', sort: ['p50', 'p99', 'p99.9'], scale: { domain: ['p50', 'p99', 'p99.9'], range: ['circle', 'triangle-right', 'cross'] }, legend: { orient: 'top' } },
              tooltip: [
                { field: 'label', title: 'scenario' },
                { field: 'transport' },
                { field: 'size' },
                { field: 'percentile' },
                { field: 'latency_us', title: 'µs', format: '.3~f' },
                { field: 'id' },
              ],
            },
          },
        ],
      },
      config: baseConfig,
    } as TopLevelSpec,
  };
}

function pacedChart(doc: BenchDocument): ReportChart | undefined {
  const results = doc.results.filter((r) => r.pattern === 'paced' && r.latency_ns !== undefined && r.load_fraction !== undefined && Number.isFinite(r.load_fraction));
  if (results.length === 0) return undefined;
  const values: Row[] = [];
  for (const r of results) {
    const lat = r.latency_ns as NonNullable<BenchResult['latency_ns']>;
    const series = r.message_bytes === undefined ? r.transport : `${r.transport}, ${sizeLabel(r)}`;
    for (const p of PERCENTILES) {
      if (!positive(lat[p.key])) continue;
      values.push({
        id: r.id,
        series,
        line: `${series} ${p.title}`,
        kind: r.kind,
        percentile: p.title,
        load: r.load_fraction as number,
        offered_per_s: r.offered_per_s ?? 0,
        latency_us: lat[p.key] / 1000,
      });
    }
  }
  if (values.length === 0) return undefined;
  const title = 'Latency under a paced load';
  return {
    slug: 'latency-paced',
    title,
    description: 'Arrival-to-completion latency in microseconds (log scale, coordinated omission corrected) at fixed arrival rates, as a fraction of the measured capacity; one line per transport and percentile.',
    rows: values.length,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      data: { values },
      width: 420,
      height: 260,
      encoding: {
        x: { field: 'load', type: 'quantitative', title: 'offered load, fraction of measured capacity', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
        y: { field: 'latency_us', type: 'quantitative', scale: { type: 'log' }, title: 'latency, µs (log scale)' },
        color: colourByKind,
        detail: { field: 'line', type: 'nominal' },
      },
      layer: [
        { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { strokeDash: { field: 'percentile', type: 'nominal', sort: ['p50', 'p99', 'p99.9'], legend: { orient: 'top' } } } },
        {
          mark: { type: 'point', filled: true, size: 40, tooltip: true },
          encoding: {
            shape: { field: 'series', type: 'nominal', title: 'transport', legend: { orient: 'bottom', columns: 2, labelLimit: 300 } },
            tooltip: [
              { field: 'series', title: 'transport' },
              { field: 'percentile' },
              { field: 'load', format: '.0%' },
              { field: 'offered_per_s', title: 'offered/s', format: '.3s' },
              { field: 'latency_us', title: 'µs', format: '.3~f' },
              { field: 'id' },
            ],
          },
        },
      ],
      config: baseConfig,
    } as TopLevelSpec,
  };
}

function cpuChart(doc: BenchDocument): ReportChart | undefined {
  const results = doc.results.filter((r) => r.cpu_ns_per_msg !== undefined && (positive(r.cpu_ns_per_msg.js) || positive(r.cpu_ns_per_msg.peer)));
  if (results.length === 0) return undefined;
  const labels = uniqueLabels(results, true);
  const values: Row[] = [];
  for (const r of results) {
    const cpu = r.cpu_ns_per_msg as NonNullable<BenchResult['cpu_ns_per_msg']>;
    for (const side of ['js', 'peer'] as const) {
      const v = cpu[side];
      if (!positive(v)) continue;
      values.push({ id: r.id, label: labels.get(r) as string, transport: r.transport, kind: r.kind, size: sizeLabel(r), side: side === 'js' ? 'JS side' : 'peer side', ns: v });
    }
  }
  const title = 'CPU time per message, each side';
  return {
    slug: 'cpu-per-message',
    title,
    description: 'CPU time (user + system) per message in nanoseconds (log scale), on the JavaScript side and on the peer side of each scenario that measured it.',
    rows: values.length,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      data: { values },
      width: 420,
      height: { step: 16 },
      mark: { type: 'point', filled: true, size: 50, tooltip: true },
      encoding: {
        y: { field: 'label', type: 'nominal', title: null, sort: { field: 'ns', op: 'max', order: 'descending' }, axis: { labelLimit: 560 } },
        x: { field: 'ns', type: 'quantitative', scale: { type: 'log' }, title: 'CPU ns per message (log scale)' },
        color: colourByKind,
        shape: { field: 'side', type: 'nominal', scale: { domain: ['JS side', 'peer side'], range: ['circle', 'square'] }, legend: { orient: 'top' } },
        tooltip: [
          { field: 'label', title: 'scenario' },
          { field: 'transport' },
          { field: 'side' },
          { field: 'ns', title: 'CPU ns/msg', format: '.3~f' },
          { field: 'id' },
        ],
      },
      config: baseConfig,
    } as TopLevelSpec,
  };
}

function callsChart(doc: BenchDocument): ReportChart | undefined {
  const results = doc.results.filter((r) => r.pattern === 'call' && positive(r.ns_per_call));
  if (results.length === 0) return undefined;
  const labels = uniqueLabels(results, false);
  const values: Row[] = results.map((r) => ({ id: r.id, label: labels.get(r) as string, transport: r.transport, kind: r.kind, ns: r.ns_per_call as number }));
  const title = 'Cost of one call between JavaScript and C';
  const base = logBase(values.map((v) => v.ns as number));
  return {
    slug: 'calls',
    title,
    description: 'Nanoseconds per call (log scale) of each calling mechanism between JavaScript and C.',
    rows: values.length,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      data: { values },
      width: 420,
      height: { step: 16 },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'label', type: 'nominal', sort: 'x', title: null, axis: { labelLimit: 560 } },
        x: { field: 'ns', type: 'quantitative', scale: { type: 'log', domainMin: base }, title: 'ns per call (log scale)' },
        x2: { datum: base },
        color: colourByKind,
        tooltip: [
          { field: 'label', title: 'scenario' },
          { field: 'transport' },
          { field: 'ns', title: 'ns/call', format: '.3~f' },
          { field: 'id' },
        ],
      },
      config: baseConfig,
    } as TopLevelSpec,
  };
}

/**
 * The charts of `doc`, in report order: throughput one way, throughput pipelined, round-trip latency, paced latency,
 * CPU per message, calls — each only when the document has scenarios for it. Pure: the same document gives equal
 * specifications. Results with missing or non-positive figures are left out of a chart (a log scale cannot show
 * them); they still appear in the tables.
 */
export function reportCharts(doc: BenchDocument): ReportChart[] {
  const charts = [
    throughputChart(doc, 'one-way'),
    throughputChart(doc, 'pipelined'),
    roundTripChart(doc),
    pacedChart(doc),
    cpuChart(doc),
    callsChart(doc),
  ];
  return charts.filter((c): c is ReportChart => c !== undefined);
}
