/**
 * The benchmark report generator (bench/report/*): the HTML report renders every chart in a real headless browser
 * (Chromium from Debian, installed by .ci/run), docs/benchmarks.md and its SVG charts are generated deterministically
 * from the JSON document, and a document of another schema is refused.
 *
 * Everything runs on test/fixtures/bench-document.ts, a fixture with invented figures covering every kind and every
 * pattern; nothing here measures or checks a speed.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { reportCharts } from '../bench/report/charts.js';
import { renderReportHtml } from '../bench/report/html.js';
import { chartFileName, renderBenchmarksMarkdown } from '../bench/report/markdown.js';
import { countSvgMarks, renderChartSvg } from '../bench/report/svg.js';
import { NativeSidecarError } from '../src/errors.js';
import { fixtureDocument } from './fixtures/bench-document.js';

const execFileP = promisify(execFile);
// .out/test/bench-report.test.js → .out/bench/report/docs.js
const docsJs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'report', 'docs.js');
const repoDocs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ns-bench-report-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const fixtureJson = path.join(tmp, 'fixture.json');
writeFileSync(fixtureJson, JSON.stringify(fixtureDocument(), null, 2) + '\n');

function chromiumBinary(): string {
  for (const name of ['chromium', 'chromium-browser']) {
    const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
    if (r.error === undefined && r.status === 0) return name;
  }
  assert.fail('Chromium is not installed, and the HTML report must be checked in a real browser: install it with `apt-get install -y chromium` (.ci/run does).');
}

/** Loads `file` in headless Chromium with the network disabled and returns the DOM after the page's scripts ran. */
async function dumpDom(file: string, profile: string): Promise<string> {
  const bin = chromiumBinary();
  const { stdout } = await execFileP(
    bin,
    [
      '--headless',
      '--no-sandbox', // CI runs as root, where Chromium's sandbox cannot start
      '--disable-gpu',
      '--no-first-run',
      '--host-resolver-rules=MAP * ~NOTFOUND', // no network: the page must be self-contained
      `--user-data-dir=${path.join(tmp, `chromium-profile-${profile}`)}`,
      '--virtual-time-budget=10000',
      '--dump-dom',
      `file://${file}`,
    ],
    { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

function bodyAttr(dom: string, name: string): string | undefined {
  const body = /<body\b[^>]*>/.exec(dom)?.[0] ?? '';
  return new RegExp(`\\b${name}="([^"]*)"`).exec(body)?.[1];
}

function chartElements(dom: string): Array<{ slug: string; rows: number; marks: number | undefined }> {
  const out: Array<{ slug: string; rows: number; marks: number | undefined }> = [];
  for (const m of dom.matchAll(/<div class="chart"[^>]*>/g)) {
    const tag = m[0];
    const slug = /data-chart="([^"]*)"/.exec(tag)?.[1] ?? '';
    const rows = Number(/data-rows="(\d+)"/.exec(tag)?.[1]);
    const marks = /data-marks="(\d+)"/.exec(tag)?.[1];
    out.push({ slug, rows, marks: marks === undefined ? undefined : Number(marks) });
  }
  return out;
}

/** A minimal XML well-formedness check: every element closes in order, one root element, no stray '<'. */
function assertWellFormedXml(xml: string, what: string): void {
  const stack: string[] = [];
  let roots = 0;
  const re = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[[\s\S]*?\]\]>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml)) !== null) {
    const between = xml.slice(last, m.index);
    assert.ok(!between.includes('<'), `${what}: a '<' that starts no tag near offset ${last}`);
    last = m.index + m[0].length;
    if (m[2] === undefined) continue; // comment, declaration, CDATA
    if (m[1] === '/') {
      assert.equal(stack.pop(), m[2], `${what}: </${m[2]}> closes the wrong element`);
    } else {
      if (stack.length === 0) roots++;
      if (m[4] !== '/') stack.push(m[2]);
    }
  }
  assert.ok(!xml.slice(last).includes('<'), `${what}: a '<' that starts no tag at the end`);
  assert.deepEqual(stack, [], `${what}: elements left open`);
  assert.equal(roots, 1, `${what}: one root element`);
}

/**
 * The fixture's report and a copy of it without the Vega script, both loaded in Chromium at once (two browsers in
 * parallel: the page loads take most of this file's time). Started by the first test that needs them.
 */
let pages: Promise<{ good: string; broken: string }> | undefined;
function loadPages(): Promise<{ good: string; broken: string }> {
  if (pages === undefined) {
    const html = renderReportHtml(fixtureDocument());
    const good = path.join(tmp, 'report.html');
    writeFileSync(good, html);
    const start = html.indexOf('<script>') + '<script>'.length;
    const end = html.indexOf('</script>', start);
    const broken = path.join(tmp, 'broken.html');
    writeFileSync(broken, html.slice(0, start) + html.slice(end));
    pages = Promise.all([dumpDom(good, 'good'), dumpDom(broken, 'broken')]).then(([g, b]) => ({ good: g, broken: b }));
  }
  return pages;
}

describe('benchmark report: HTML in a real browser', () => {
  test('every chart of the HTML report renders in headless Chromium, offline, with marks drawn and no chart error', async () => {
    const doc = fixtureDocument();
    const html = renderReportHtml(doc);
    assert.doesNotMatch(html, /<script[^>]+\bsrc=|<link\b/i, 'the page loads no script or stylesheet from elsewhere');
    const dom = (await loadPages()).good;
    const expected = reportCharts(doc);
    assert.equal(expected.length, 6, 'the fixture has data for all six charts');
    assert.equal(bodyAttr(dom, 'data-chart-errors'), undefined, `chart errors: ${bodyAttr(dom, 'data-chart-errors') ?? ''}`);
    assert.equal(bodyAttr(dom, 'data-charts-rendered'), String(expected.length));
    const charts = chartElements(dom);
    assert.deepEqual(charts.map((c) => c.slug), expected.map((c) => c.slug));
    for (const c of charts) {
      assert.ok(c.marks !== undefined && c.marks >= c.rows && c.rows > 0, `chart ${c.slug} drew ${c.marks} marks for ${c.rows} rows`);
    }
    assert.match(dom, /<svg\b[^>]*class="marks"/, 'Vega drew SVG into the page');
    for (const r of doc.results) assert.ok(dom.includes(`<code>${r.id}</code>`), `the scenario table lists ${r.id}`);
  });

  test('a report whose Vega script is missing says so in data-chart-errors instead of claiming rendered charts', async () => {
    const dom = (await loadPages()).broken;
    assert.equal(bodyAttr(dom, 'data-charts-rendered'), '0');
    const errors = JSON.parse((bodyAttr(dom, 'data-chart-errors') ?? '[]').replace(/&quot;/g, '"')) as string[];
    assert.equal(errors.length, reportCharts(fixtureDocument()).length);
    assert.match(errors[0] ?? '', /the Vega script did not load/);
  });

  test('renderReportHtml refuses a document of another schema with ERR_INVALID_ARG', () => {
    const doc = { ...fixtureDocument(), schema: 'native-sidecar-bench/1' } as unknown as ReturnType<typeof fixtureDocument>;
    assert.throws(() => renderReportHtml(doc), (e: unknown) => e instanceof NativeSidecarError && e.code === 'ERR_INVALID_ARG' && /native-sidecar-bench\/2/.test(e.message));
  });
});

describe('benchmark report: docs/benchmarks.md and its charts', () => {
  test('the Markdown is the same on each generation and names every scenario id and every target check', () => {
    const a = renderBenchmarksMarkdown(fixtureDocument());
    const b = renderBenchmarksMarkdown(fixtureDocument());
    assert.equal(a, b);
    assert.match(a, /generated by `npm run bench:docs` from docs\/benchmarks\.json — do not edit/i);
    const doc = fixtureDocument();
    for (const r of doc.results) assert.ok(a.includes(`\`${r.id}\``), `the page lists ${r.id}`);
    for (const c of doc.checks) assert.ok(a.includes(c.target), `the page lists the check '${c.target}'`);
    for (const c of reportCharts(doc)) assert.ok(a.includes(`](${chartFileName(c.slug)})`), `the page shows the chart ${c.slug}`);
    for (const opt of ['--full', '--only', '--sizes', '--duration', '--json', 'npx native-sidecar bench']) assert.ok(a.includes(opt), `the page explains ${opt}`);
    assert.ok(a.includes('p99.9') && a.includes('CPU/msg JS') && a.includes('spread'), 'the tables carry p99.9, CPU per message and spread');
    assert.ok(a.includes('- `limits.c-ring.one-way.32`: fixture figure'), 'scenario notes are listed');
  });

  test('every chart renders in Node to a well-formed SVG with at least one data mark per row and no zero-width bar', async () => {
    for (const chart of reportCharts(fixtureDocument())) {
      const svg = await renderChartSvg(chart);
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assertWellFormedXml(svg, chart.slug);
      assert.ok(countSvgMarks(svg) >= chart.rows, `${chart.slug}: ${countSvgMarks(svg)} marks for ${chart.rows} rows`);
      assert.doesNotMatch(svg, /aria-roledescription="bar" d="M[-\d.e]+,[-\d.e]+h0v/, `${chart.slug}: a bar of zero width (log scale drawn from 0)`);
      assert.doesNotMatch(svg, /NaN/, `${chart.slug}: a coordinate is NaN`);
    }
  });

  test('npm run bench:docs writes the JSON copy, one SVG per chart and the page, byte-identical on a second run, and removes stale charts', async () => {
    const outA = path.join(tmp, 'docs-a');
    const outB = path.join(tmp, 'docs-b');
    for (const out of [outA, outB]) {
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out, { recursive: true });
      writeFileSync(path.join(out, 'benchmarks-stale-chart.svg'), '<svg/>');
      writeFileSync(path.join(out, 'benchmarks-2026-11-26.json'), '{}');
    }
    // Two separate processes (in parallel): byte-identical output must not depend on state within one process.
    await Promise.all([outA, outB].map((out) => execFileP(process.execPath, [docsJs, fixtureJson, '--out-dir', out], { encoding: 'utf8', timeout: 60_000 })));
    const files = readdirSync(outA).sort();
    const charts = reportCharts(fixtureDocument()).map((c) => chartFileName(c.slug));
    assert.deepEqual(files, ['benchmarks-2026-11-26.json', 'benchmarks.json', 'benchmarks.md', ...charts].sort());
    assert.deepEqual(readdirSync(outB).sort(), files);
    for (const f of files) assert.ok(readFileSync(path.join(outA, f)).equals(readFileSync(path.join(outB, f))), `${f} differs between two runs`);
    assert.ok(readFileSync(path.join(outA, 'benchmarks.json')).equals(readFileSync(fixtureJson)), 'benchmarks.json is a byte copy of the document');
    assert.equal(readFileSync(path.join(outA, 'benchmarks.md'), 'utf8'), renderBenchmarksMarkdown(fixtureDocument()));
  });

  test('npm run bench:docs refuses a document of another schema, a file that is not JSON and a missing file with a sentence and exit code 2, writing nothing', () => {
    const wrong = path.join(tmp, 'wrong-schema.json');
    writeFileSync(wrong, JSON.stringify({ ...fixtureDocument(), schema: 'native-sidecar-bench/1' }));
    const notJson = path.join(tmp, 'not.json');
    writeFileSync(notJson, '{ "schema": ');
    const cases: Array<[string, RegExp]> = [
      [wrong, /has 'native-sidecar-bench\/1', but the report generator reads only schema 'native-sidecar-bench\/2' documents/],
      [path.join(repoDocs, 'benchmarks-2026-11-26.json'), /has no schema field, but the report generator reads only schema 'native-sidecar-bench\/2'/],
      [notJson, /is not JSON/],
      [path.join(tmp, 'missing.json'), /cannot be read \(ENOENT\)/],
    ];
    for (const [input, message] of cases) {
      const out = path.join(tmp, `refused-${path.basename(input)}`);
      const r = spawnSync(process.execPath, [docsJs, input, '--out-dir', out], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 2, `${input}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /^The document .*\.\n/);
      assert.equal(existsSync(out), false, 'nothing is written');
    }
    const noArgs = spawnSync(process.execPath, [docsJs], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(noArgs.status, 2);
    assert.match(noArgs.stderr, /bench:docs needs the path of a run's JSON document/);
  });
});
