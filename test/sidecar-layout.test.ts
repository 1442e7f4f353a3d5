import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as layout from '../src/sidecar/layout.js';
import { layoutDumpPath } from './helpers/sidecar-env.js';

test('every sidecar constant and control block offset of layout.h equals the one in src/sidecar/layout.ts', () => {
  const fromC = JSON.parse(execFileSync(layoutDumpPath(), { encoding: 'utf8' })) as Record<string, number>;
  const fromTs = layout as unknown as Record<string, unknown>;
  const names = Object.keys(fromC);
  assert.ok(names.length > 40, 'the dump program printed the whole table');
  for (const name of names) {
    assert.equal(fromTs[name], fromC[name], `${name}: TypeScript has ${String(fromTs[name])}, C has ${fromC[name]}`);
  }
});

test('the control block fields follow the block plan of wire-format §8', () => {
  assert.equal(layout.CONTROL_STATE_OFFSET, 128);
  assert.equal(layout.CONTROL_ERROR_LENGTH_OFFSET, 256);
  assert.equal(layout.CONTROL_ERROR_OFFSET + layout.SIDECAR_ERROR_MAX, layout.SIDECAR_CONTROL_SIZE);
  assert.equal(layout.controlSegmentSize(10), layout.SIDECAR_CONTROL_SIZE + 10);
});
