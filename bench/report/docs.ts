/**
 * `npm run bench:docs -- <run.json> [--out-dir <dir>]`: regenerates the benchmark page from the JSON document of one
 * run (schema `native-sidecar-bench/2`). Writes into the out dir (default: the repository's docs/):
 * - benchmarks.json — a byte copy of the document,
 * - benchmarks-<chart>.svg — each chart of bench/report/charts.ts, rendered by Vega in Node (stale chart files of an
 *   earlier run that this run has no chart for are removed),
 * - benchmarks.md — bench/report/markdown.ts.
 *
 * The same document gives byte-identical files. Exit codes: 0 written; 2 when the arguments are wrong or the file is
 * not a readable `native-sidecar-bench/2` JSON document (a sentence on stderr says which, nothing is written); 1 when
 * writing or rendering failed.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchDocument } from '../lib/contract.js';
import { reportCharts } from './charts.js';
import { chartFileName, renderBenchmarksMarkdown } from './markdown.js';
import { assertBenchDocument } from './validate.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** .out/bench/report → the repository root. */
const repoRoot = path.resolve(here, '..', '..', '..');

const USAGE = 'usage: npm run bench:docs -- <path/to/run.json> [--out-dir <dir>]  (default out dir: docs/)';

class UsageError extends Error {}

function parseArgs(argv: string[]): { input: string; outDir: string } {
  let input: string | undefined;
  let outDir = path.join(repoRoot, 'docs');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--out-dir') {
      const v = argv[++i];
      if (v === undefined || v === '') throw new UsageError('The option --out-dir needs a directory.');
      outDir = path.resolve(v);
    } else if (a.startsWith('-')) throw new UsageError(`The option '${a}' is not an option of bench:docs.`);
    else if (input === undefined) input = path.resolve(a);
    else throw new UsageError(`bench:docs reads one document, but a second path '${a}' was given.`);
  }
  if (input === undefined) throw new UsageError('bench:docs needs the path of a run\'s JSON document, e.g. bench-results/latest.json.');
  return { input, outDir };
}

function readDocument(file: string): { doc: BenchDocument; bytes: Buffer } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new UsageError(`The document ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}).`);
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new UsageError(`The document ${file} is not JSON (${(error as Error).message}).`);
  }
  try {
    return { doc: assertBenchDocument(value, `The document ${file}`), bytes };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function main(argv: string[]): Promise<number> {
  let args: { input: string; outDir: string };
  let doc: BenchDocument;
  try {
    args = parseArgs(argv);
    doc = readDocument(args.input).doc;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  // Vega is loaded only for a document that passed the checks, so a refusal is immediate.
  const { renderChartSvg } = await import('./svg.js');
  mkdirSync(args.outDir, { recursive: true });
  const charts = reportCharts(doc);
  const svgs: Array<[string, string]> = [];
  for (const c of charts) svgs.push([chartFileName(c.slug), await renderChartSvg(c)]);
  const markdown = renderBenchmarksMarkdown(doc);
  const written: string[] = [];
  const jsonOut = path.join(args.outDir, 'benchmarks.json');
  let same = false;
  try {
    same = realpathSync(jsonOut) === realpathSync(args.input);
  } catch {
    same = false;
  }
  if (!same) copyFileSync(args.input, jsonOut);
  written.push(jsonOut);
  const keep = new Set(svgs.map(([name]) => name));
  for (const name of readdirSync(args.outDir)) {
    if (/^benchmarks-.*\.svg$/.test(name) && !keep.has(name)) rmSync(path.join(args.outDir, name));
  }
  for (const [name, svg] of svgs) {
    writeFileSync(path.join(args.outDir, name), svg);
    written.push(path.join(args.outDir, name));
  }
  const mdOut = path.join(args.outDir, 'benchmarks.md');
  writeFileSync(mdOut, markdown);
  written.push(mdOut);
  process.stdout.write(`written from ${args.input} (${doc.results.length} scenarios, ${doc.checks.length} checks):\n${written.map((w) => `  ${w}`).join('\n')}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench:docs failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
