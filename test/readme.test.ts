/**
 * README.md shows no code that nothing runs. Convention: the line just before a TypeScript or JavaScript code block
 * says what it is —
 *   <!-- example: examples/<name>.ts -->  the block is quoted verbatim from that file (which test/examples.test.ts
 *                                          runs and checks), or
 *   <!-- fragment -->                      the block is a fragment, not a program (it needs a peer, a path …).
 * An unmarked block, a block that differs from its file, or a file that does not exist fails this test.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CODE_LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs', 'cjs', 'tsx', 'jsx']);
const MARKER = /^<!-- (?:example: (examples\/[\w.-]+\.ts)|fragment) -->$/;

interface CodeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  language: string;
  /** The line just before the fence (blank lines skipped), or '' at the top. */
  before: string;
  text: string;
}

/** The fenced code blocks of a Markdown text (``` fences; the info string's first word is the language). */
function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)/.exec(lines[i] ?? '');
    if (open === null) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? '')) end++;
    let b = i - 1;
    while (b >= 0 && (lines[b] ?? '').trim() === '') b--;
    blocks.push({ line: i + 1, language: open[1] ?? '', before: b >= 0 ? (lines[b] ?? '').trim() : '', text: lines.slice(i + 1, end).join('\n') + '\n' });
    i = end;
  }
  return blocks;
}

/** What is wrong with the code blocks of `markdown` (read example files from `dir`): one sentence each. */
function unrunnableBlocks(markdown: string, dir: string): string[] {
  const problems: string[] = [];
  for (const block of codeBlocks(markdown)) {
    if (!CODE_LANGUAGES.has(block.language)) continue;
    const marker = MARKER.exec(block.before);
    if (marker === null) {
      problems.push(`line ${block.line}: a \`\`\`${block.language} block is neither marked <!-- example: examples/….ts --> nor <!-- fragment -->`);
      continue;
    }
    const file = marker[1];
    if (file === undefined) continue;
    if (!existsSync(join(dir, file))) problems.push(`line ${block.line}: ${file} does not exist`);
    else if (!readFileSync(join(dir, file), 'utf8').includes(block.text)) problems.push(`line ${block.line}: the block is not quoted verbatim from ${file}`);
  }
  return problems;
}

describe('README.md', () => {
  test('every TypeScript block is quoted from a file of examples/ or marked as a fragment', () => {
    assert.deepEqual(unrunnableBlocks(readFileSync(join(root, 'README.md'), 'utf8'), root), []);
  });

  test('at least the quick start and the shared region are quoted from examples/', () => {
    const quoted = codeBlocks(readFileSync(join(root, 'README.md'), 'utf8')).map((b) => MARKER.exec(b.before)?.[1]);
    assert.ok(quoted.includes('examples/quick-start.ts'));
    assert.ok(quoted.includes('examples/shared-region.ts'));
  });

  test('the check finds an unmarked block, a block that differs from its file and a missing file', () => {
    const doc = [
      'text',
      '```ts',
      'console.log(1);',
      '```',
      '<!-- example: examples/quick-start.ts -->',
      '',
      '```ts',
      "console.log('not in the file');",
      '```',
      '<!-- example: examples/no-such-file.ts -->',
      '```js',
      'x();',
      '```',
      '<!-- fragment -->',
      '```ts',
      'anything();',
      '```',
      '```sh',
      'npm test',
      '```',
    ].join('\n');
    assert.deepEqual(unrunnableBlocks(doc, root), [
      'line 2: a ```ts block is neither marked <!-- example: examples/….ts --> nor <!-- fragment -->',
      'line 7: the block is not quoted verbatim from examples/quick-start.ts',
      'line 11: examples/no-such-file.ts does not exist',
    ]);
  });
});
