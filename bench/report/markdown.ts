/**
 * docs/benchmarks.md, generated from one BenchDocument (schema `native-sidecar-bench/2`): how to run the benchmarks,
 * the machine, the target checks, the chart images (docs/benchmarks-<slug>.svg, rendered by bench/report/svg.ts), and
 * per suite its explanation (bench/report/suites.ts), a table of every scenario and the scenarios' notes.
 *
 * Deterministic: the text depends on the document only (no clock, no locale, no machine state), so the same JSON
 * gives byte-identical Markdown.
 */
import type { BenchDocument, BenchResult } from '../lib/contract.js';
import { reportCharts } from './charts.js';
import { columnsFor } from './columns.js';
import { bytes, opText, sig3 } from './format.js';
import { suiteText, suitesInOrder } from './suites.js';
import { assertBenchDocument } from './validate.js';

/** The file name of a chart's image, next to docs/benchmarks.md. */
export function chartFileName(slug: string): string {
  return `benchmarks-${slug}.svg`;
}

/** A table cell: no line breaks, '|' escaped. */
function cell(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

function mdTable(header: string[], align: boolean[], rows: string[][]): string {
  const lines = [`| ${header.map(cell).join(' | ')} |`, `|${align.map((right) => (right ? '---:' : '---')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

function scenarioTable(results: readonly BenchResult[]): string {
  const cols = columnsFor(results);
  return mdTable(
    cols.map((c) => c.title),
    cols.map((c) => c.numeric),
    results.map((r) => cols.map((c) => (c.key === 'id' ? `\`${c.cell(r)}\`` : c.cell(r)))),
  );
}

const RUNNING = `## Running the benchmarks

\`\`\`
npm run bench                               # every suite, quick depth (about 3 minutes on 2 cores)
npm run bench -- --full                     # longer windows and more runs per scenario
npm run bench -- ring sidecar               # some suites only
npm run bench -- --only 'ring.*,*.round-trip.*'   # scenarios whose id matches one of the globs
npm run bench -- --sizes 32,1k,64k,1m       # message sizes of the size-swept scenarios
npm run bench -- --duration 2000            # measurement window of one run, in ms
npm run bench -- --json                     # the JSON document on stdout as well (tables on stderr)
npx native-sidecar bench                    # the same runner through the CLI (in a clone of the repository)
npm run bench:docs -- bench-results/latest.json   # regenerate this page from a run
\`\`\`

The runner shows its progress (scenario n of m, elapsed, eta) on stderr, prints a table per suite and the target
checks, and writes the JSON document (schema \`native-sidecar-bench/2\`, defined by \`bench/lib/contract.ts\`) and an
interactive HTML report with the same charts (\`report.html\`) into its output directory (\`--out\`, default
\`bench-results/\`). A target that is not met does not change the exit code: this is a benchmark, not a test.
Every figure of a scenario is the median of its runs; *spread* is (max − min) / median of the primary figure over
those runs. Latency percentiles come from hdr-histogram-js (3 significant digits); CPU per message is user + system
time of each side divided by the messages. Compare ratios of one run, not absolute figures of different runs: on a
small shared machine they vary with the load.`;

const JSON_SECTION = `## The JSON document

\`npm run bench\` writes one JSON document per run (\`<out>/bench-<timestamp>.json\` and \`<out>/latest.json\`; with
\`--json\` also on stdout); its types are \`BenchDocument\`, \`BenchResult\` and \`TargetCheck\` in
\`bench/lib/contract.ts\`. Top level: \`schema\` (\`"native-sidecar-bench/2"\`; \`npm run bench:docs\` refuses any other),
\`date\`, \`command\`, \`depth\` (\`smoke\`, \`quick\` or \`full\`), \`duration_s\`, \`machine\` (\`cpu_model\`, \`cores\`,
\`kernel\`, \`node\`, \`total_mem_bytes\`, \`loadavg_start\`, \`loadavg_end\`), \`results\`, \`checks\` and \`problems\` (a
sentence per suite that failed or was skipped).

Each result: \`suite\`; \`id\` (\`<suite>.<kebab-case>\` with the size, what \`--only\` matches); \`scenario\` (the title);
\`transport\`; \`kind\` (\`ours\`, \`alternative\` or \`limit\`); \`pattern\` (\`one-way\`, \`round-trip\`, \`pipelined\`,
\`paced\`, \`call\` or \`resource\`); and where they apply \`message_bytes\`, \`msgs_per_s\`, \`gbytes_per_s\`,
\`latency_ns\` (\`p50\`, \`p99\`, \`p999\`, \`max\`, \`count\`), \`ns_per_call\`, \`cpu_ns_per_msg\` (\`js\`, \`peer\`),
\`offered_per_s\` and \`load_fraction\` (paced), \`value\` and \`unit\` (resources), \`runs\`, \`spread\` and \`note\`.
Each check: \`target\` (a sentence), \`value\`, \`op\` (\`>=\`, \`<=\` or \`<\`), \`limit\`, \`met\` and the \`issue\` that set
it; a figure that could not be measured is \`null\` and its check is not met.`;

/**
 * The Markdown of docs/benchmarks.md for `doc`. `jsonName` is the file name the document is linked by (next to the
 * page). Pure and synchronous, any thread. Throws a NativeSidecarError ERR_INVALID_ARG when `doc` is not a
 * `native-sidecar-bench/2` document.
 */
export function renderBenchmarksMarkdown(doc: BenchDocument, jsonName = 'benchmarks.json'): string {
  assertBenchDocument(doc);
  const out: string[] = [];
  out.push('# Benchmarks');
  out.push(`> Generated by \`npm run bench:docs\` from docs/${jsonName} — do not edit: change the generator (\`bench/report/\`) or rerun the benchmarks. The figures below are those of [${jsonName}](${jsonName}).`);
  out.push(RUNNING);

  const m = doc.machine;
  out.push('## The machine and the run');
  out.push(
    mdTable(
      ['', ''],
      [false, false],
      [
        ['date', doc.date],
        ['command', `\`${doc.command}\``],
        ['depth', `${doc.depth}, ${sig3(doc.duration_s)} s`],
        ['CPU', `${m.cpu_model}, ${m.cores} cores`],
        ['memory', bytes(m.total_mem_bytes)],
        ['kernel', m.kernel],
        ['Node', m.node],
        ['load average (1, 5, 15 min)', `${(m.loadavg_start ?? []).join(' ')} at the start, ${(m.loadavg_end ?? []).join(' ')} at the end`],
      ],
    ),
  );
  if (doc.problems.length > 0) {
    out.push('Problems of this run:\n\n' + doc.problems.map((p) => `- ${p}`).join('\n'));
  }

  out.push('## Targets');
  if (doc.checks.length === 0) out.push('This run checked no target.');
  else {
    const met = doc.checks.filter((c) => c.met).length;
    out.push(`${met} of ${doc.checks.length} targets met in this run, each computed from figures of the same run. What bounds the ones that are not met, measured: [performance.md](performance.md).`);
    out.push(
      mdTable(
        ['target', 'value', 'limit', 'met'],
        [false, true, true, false],
        doc.checks.map((c) => [
          c.issue !== undefined ? `${c.target} (issue ${c.issue})` : c.target,
          sig3(c.value) || '—',
          `${opText(c.op)} ${sig3(c.limit)}`,
          c.met ? 'yes' : '**NO**',
        ]),
      ),
    );
  }

  const charts = reportCharts(doc);
  out.push('## Charts');
  out.push('Colour is the kind of scenario: blue is this library, orange an alternative, dark grey a limit of the machine. Every value axis is logarithmic.');
  for (const c of charts) {
    out.push(`### ${c.title}\n\n${c.description}\n\n![${c.title}](${chartFileName(c.slug)})`);
  }

  out.push('## Every scenario, by suite');
  for (const s of suitesInOrder(doc.results.map((r) => r.suite))) {
    const t = suiteText(s);
    const results = doc.results.filter((r) => r.suite === s);
    out.push(`### ${t.title} (\`${s}\`)`);
    for (const p of t.paragraphs) out.push(p);
    out.push(scenarioTable(results));
    const notes = results.filter((r) => r.note !== undefined && r.note !== '');
    if (notes.length > 0) out.push('Notes:\n\n' + notes.map((r) => `- \`${r.id}\`: ${(r.note as string).replace(/\r?\n/g, ' ')}`).join('\n'));
  }

  out.push(JSON_SECTION);
  out.push('## Earlier runs');
  out.push(
    'Before the schema-2 runner, the suites were run by hand and described on this page: [benchmarks-2026-11-26.json](benchmarks-2026-11-26.json) and [benchmarks-2026-11-26-b.json](benchmarks-2026-11-26-b.json) are two such runs (schema 1: `machine`, `date`, and per suite `results` and `checks`). The page\'s history of those runs and of the performance work behind them is in the git history of docs/benchmarks.md. [benchmarks-2026-12-02-issue11.json](benchmarks-2026-12-02-issue11.json) is the schema-2 `--full` run that [performance.md](performance.md) analyses (issue 11).',
  );
  return out.join('\n\n') + '\n';
}
