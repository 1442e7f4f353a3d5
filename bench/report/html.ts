/**
 * The interactive HTML report of one benchmark run: machine, date and command, the charts of bench/report/charts.ts
 * drawn by Vega in the browser, the target checks, and a table of every scenario per suite.
 *
 * The page is self-contained: Vega's built script is inlined from node_modules (the Vega-Lite specifications are
 * compiled to Vega here, in Node, so only Vega itself goes into the page) and nothing is fetched, so the file renders
 * offline. When every chart has been drawn the page sets `document.body.dataset.chartsRendered` to the number of
 * charts drawn, each chart element carries `data-marks` (the number of data marks it drew), and any failure is
 * listed as a JSON array of sentences in `document.body.dataset.chartErrors` (test/bench-report.test.ts checks all
 * three in headless Chromium).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { BenchDocument, BenchResult } from '../lib/contract.js';
import { reportCharts } from './charts.js';
import { columnsFor } from './columns.js';
import { bytes, opText, sig3 } from './format.js';
import { suiteText, suitesInOrder } from './suites.js';
import { assertBenchDocument } from './validate.js';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The inline Markdown of bench/report/suites.ts (`code` and [text](link)) as HTML. Links are relative to docs/, which
 * the report does not sit in, so they become text naming the file under docs/.
 */
function inline(md: string): string {
  return esc(md)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\[([^\]]+)\]\(([^)#]+)(#[^)]*)?\)/g, '$1 (<code>docs/$2</code>)');
}

/** JSON that can sit inside a <script> element: no '<' survives, so no '</script>' can end it early. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function vegaScript(): string {
  const require = createRequire(import.meta.url);
  const file = path.join(path.dirname(require.resolve('vega')), 'vega.min.js');
  return readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script');
}

function table(results: readonly BenchResult[]): string {
  const cols = columnsFor(results);
  const head = cols.map((c) => `<th${c.numeric ? ' class="num"' : ''}>${esc(c.title)}</th>`).join('') + '<th>note</th>';
  const rows = results
    .map((r) => `<tr class="kind-${esc(r.kind)}">${cols.map((c) => `<td${c.numeric ? ' class="num"' : ''}>${c.key === 'id' ? `<code>${esc(c.cell(r))}</code>` : esc(c.cell(r))}</td>`).join('')}<td>${esc(r.note ?? '')}</td></tr>`)
    .join('\n');
  return `<table class="scenarios"><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

/** Runs in the page: draws every chart, then sets the markers the module comment describes. */
const PAGE_SCRIPT = `
(async function () {
  var charts = JSON.parse(document.getElementById('chart-specs').textContent);
  var errors = [];
  var rendered = 0;
  function countMarks(el) {
    var n = 0;
    el.querySelectorAll('g.role-mark').forEach(function (g) {
      var named = Array.prototype.some.call(g.classList, function (c) { return /marks$/.test(c); });
      if (named) n += g.children.length;
    });
    return n;
  }
  for (var i = 0; i < charts.length; i++) {
    var c = charts[i];
    var el = document.getElementById('chart-' + c.slug);
    try {
      if (typeof vega === 'undefined') throw new Error('the Vega script did not load');
      var view = new vega.View(vega.parse(c.vega), { renderer: 'svg', container: el, hover: true });
      await view.runAsync();
      var marks = countMarks(el);
      el.dataset.marks = String(marks);
      if (marks > 0) rendered++;
      else errors.push('chart ' + c.slug + ' drew no marks');
    } catch (e) {
      el.dataset.error = String(e && e.message || e);
      errors.push('chart ' + c.slug + ' failed: ' + el.dataset.error);
    }
  }
  if (errors.length > 0) document.body.dataset.chartErrors = JSON.stringify(errors);
  document.body.dataset.chartsRendered = String(rendered);
})().catch(function (e) {
  document.body.dataset.chartErrors = JSON.stringify(['the chart script failed: ' + String(e && e.message || e)]);
  document.body.dataset.chartsRendered = '0';
});
`;

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; padding: 0 1em; color: #1a1a1a; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 12px; }
th, td { border: 1px solid #ddd; padding: 2px 6px; vertical-align: top; }
th { background: #f3f3f3; } td.num, th.num { text-align: right; white-space: nowrap; }
tr.kind-ours td:first-child { border-left: 4px solid #0072b2; }
tr.kind-alternative td:first-child { border-left: 4px solid #e69f00; }
tr.kind-limit td:first-child { border-left: 4px solid #4d4d4d; }
.met { color: #0a7a2f; font-weight: bold; } .not-met { color: #b00020; font-weight: bold; }
.chart { margin: 1em 0 2em; } .problems li { color: #8a4b00; }
code { font-size: 0.92em; }
`;

/**
 * The HTML report of `doc` as one self-contained page. Called by bench/run.ts on the main thread after a run;
 * synchronous (reads Vega's script from node_modules once per call). Throws a NativeSidecarError ERR_INVALID_ARG when
 * `doc` is not a `native-sidecar-bench/2` document, and the file-system error when the vega package is not installed
 * (it is a devDependency: the report is a development tool).
 */
export function renderReportHtml(doc: BenchDocument): string {
  assertBenchDocument(doc);
  const charts = reportCharts(doc);
  const quiet = vega.logger(vega.Error);
  const compiled = charts.map((c) => ({ slug: c.slug, vega: compile(c.spec, { logger: quiet }).spec }));
  const m = doc.machine;
  const machineRows: Array<[string, string]> = [
    ['date', doc.date],
    ['command', doc.command],
    ['depth', doc.depth],
    ['duration', `${sig3(doc.duration_s)} s`],
    ['CPU', m.cpu_model],
    ['cores', String(m.cores)],
    ['kernel', m.kernel],
    ['Node', m.node],
    ['memory', bytes(m.total_mem_bytes)],
    ['load average', `${(m.loadavg_start ?? []).join(' ')} at the start, ${(m.loadavg_end ?? []).join(' ')} at the end`],
  ];
  const checks = doc.checks
    .map((c) => `<tr><td>${esc(c.target)}${c.issue !== undefined ? ` (issue ${c.issue})` : ''}</td><td class="num">${esc(sig3(c.value) || '—')}</td><td class="num">${esc(opText(c.op))} ${esc(sig3(c.limit))}</td><td class="${c.met ? 'met' : 'not-met'}">${c.met ? 'met' : 'NOT MET'}</td></tr>`)
    .join('\n');
  const suites = suitesInOrder(doc.results.map((r) => r.suite))
    .map((s) => {
      const t = suiteText(s);
      const results = doc.results.filter((r) => r.suite === s);
      return `<section id="suite-${esc(s)}"><h3>${esc(t.title)} (<code>${esc(s)}</code>)</h3>\n${t.paragraphs.map((p) => `<p>${inline(p)}</p>`).join('\n')}\n${table(results)}</section>`;
    })
    .join('\n');
  const chartDivs = charts
    .map((c) => `<div class="chart" id="chart-${esc(c.slug)}" data-chart="${esc(c.slug)}" data-rows="${c.rows}"><h3>${esc(c.title)}</h3><p>${esc(c.description)}</p></div>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>native-sidecar benchmarks, ${esc(doc.date)}</title>
<style>${STYLE}</style>
<script>${vegaScript()}</script>
</head>
<body data-charts-expected="${charts.length}">
<h1>native-sidecar benchmarks</h1>
<p>Run of ${esc(doc.date)}: <code>${esc(doc.command)}</code>. Every ratio in the targets compares figures of this run. Colours: <span style="color:#0072b2">■ ours</span>, <span style="color:#e69f00">■ alternatives</span>, <span style="color:#4d4d4d">■ limits of the machine</span>.</p>
<h2>Machine</h2>
<table>${machineRows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
${doc.problems.length > 0 ? `<h2>Problems</h2><ul class="problems">${doc.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : ''}
<h2>Targets</h2>
<table class="checks"><thead><tr><th>target</th><th class="num">value</th><th class="num">limit</th><th>met</th></tr></thead><tbody>
${checks}
</tbody></table>
<h2>Charts</h2>
${chartDivs}
<h2>Every scenario</h2>
${suites}
<script type="application/json" id="chart-specs">${scriptJson(compiled)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
