/**
 * Renders a report chart (bench/report/charts.ts) to SVG text in Node with Vega's headless renderer (no browser, no
 * canvas: text widths are estimated, so the output is the same on every machine). Used by bench/report/docs.ts for
 * the images of docs/benchmarks.md.
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { ReportChart } from './charts.js';

/**
 * The chart as one SVG document. Runs on the calling (main) thread; resolves with the text, rejects with Vega's
 * own error when the specification is invalid (a bug in charts.ts, not bad input: every document gives a valid spec).
 * The Vega view is finalized before it resolves, so nothing is left running.
 */
export async function renderChartSvg(chart: ReportChart): Promise<string> {
  const runtime = vega.parse(compile(chart.spec, { logger: vega.logger(vega.Error) }).spec);
  const view = new vega.View(runtime, { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * The number of data marks drawn in an SVG produced by Vega from a Vega-Lite spec: the children of every mark group
 * whose name Vega-Lite gave it (`…marks`), axes, legends and titles excluded. The HTML report counts the same way in
 * the browser (bench/report/html.ts), so a test can check that a chart drew its data.
 */
export function countSvgMarks(svg: string): number {
  let count = 0;
  const groupRe = /<g class="mark-(\w+) role-mark ([^"]*marks)"[^>]*>/g;
  let m: RegExpExecArray | null;
  while ((m = groupRe.exec(svg)) !== null) {
    // Count the direct children up to the group's closing tag: data marks are leaf elements (path, line, text, rect).
    const start = m.index + m[0].length;
    const end = svg.indexOf('</g>', start);
    const body = svg.slice(start, end < 0 ? undefined : end);
    count += (body.match(/<(path|line|rect|text|circle)\b/g) ?? []).length;
  }
  return count;
}
