import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as layout from '../src/sidecar/layout.js';
import { REGION_MEMFD_NAME } from '../src/region/layout.js';
import { layoutDumpPath } from './helpers/sidecar-env.js';

test('every sidecar constant and control block offset of layout.h equals the one in src/sidecar/layout.ts', () => {
  const fromC = JSON.parse(execFileSync(layoutDumpPath(), { encoding: 'utf8' })) as Record<string, number>;
  const fromTs = layout as unknown as Record<string, unknown>;
  const names = Object.keys(fromC).filter((name) => name !== 'REGION_MEMFD_NAME');
  assert.ok(names.length > 40, 'the dump program printed the whole table');
  for (const name of names) {
    assert.equal(fromTs[name], fromC[name], `${name}: TypeScript has ${String(fromTs[name])}, C has ${fromC[name]}`);
  }
});

test('the delivery words of wire-format §8.3 are in the C dump too, so they are compared both ways', () => {
  const fromC = JSON.parse(execFileSync(layoutDumpPath(), { encoding: 'utf8' })) as Record<string, number>;
  const fromTs = layout as unknown as Record<string, unknown>;
  for (const name of [
    'CONTROL_REDELIVERED_OFFSET',
    'CONTROL_STARTED_OFFSET',
    'CONTROL_COMPLETED_OFFSET',
    'COMMAND_STARTED_BIT',
    'COMMAND_WITHDRAWN',
    'MAX_REQUEST_ID',
    'COMMAND_REDELIVERED',
  ]) {
    assert.equal(typeof fromTs[name], 'number', `${name} is exported by src/sidecar/layout.ts`);
    assert.equal(fromC[name], fromTs[name], `${name}: C has ${String(fromC[name])}, TypeScript has ${String(fromTs[name])}`);
  }
});

test('the control block fields follow the block plan of wire-format §8', () => {
  assert.equal(layout.CONTROL_REDELIVERED_OFFSET, 28, 'redelivered is in block 0 (host-written)');
  assert.equal(layout.CONTROL_STARTED_OFFSET, layout.CONTROL_PROCESSED_OFFSET + 4);
  assert.equal(layout.CONTROL_COMPLETED_OFFSET, layout.CONTROL_STARTED_OFFSET + 4);
  assert.ok(layout.CONTROL_COMPLETED_OFFSET + 4 <= layout.CONTROL_ERROR_LENGTH_OFFSET, 'the counters are in block 1');
  assert.equal((layout.COMMAND_STARTED_BIT | layout.COMMAND_WITHDRAWN) >>> 0, 0xffffffff);
  assert.equal(layout.MAX_REQUEST_ID, layout.COMMAND_WITHDRAWN - 1, 'no request id is the withdrawn value');
  assert.equal(layout.CONTROL_STATE_OFFSET, 128);
  assert.equal(layout.CONTROL_ERROR_LENGTH_OFFSET, 256);
  assert.equal(layout.CONTROL_ERROR_OFFSET + layout.SIDECAR_ERROR_MAX, layout.SIDECAR_CONTROL_SIZE);
  assert.equal(layout.controlSegmentSize(10), layout.SIDECAR_CONTROL_SIZE + 10);
});

test('the statistics words of wire-format §8.4 and the memfd name are the same in C and TypeScript', () => {
  const fromC = JSON.parse(execFileSync(layoutDumpPath(), { encoding: 'utf8' })) as Record<string, number | string>;
  const fromTs = layout as unknown as Record<string, unknown>;
  for (const name of [
    'CONTROL_SIDECAR_INDEX_OFFSET',
    'HOST_STATS_OFFSET',
    'HOST_STATS_SIZE',
    'CONTROL_COMMANDS_SENT_OFFSET',
    'CONTROL_MESSAGES_RECEIVED_OFFSET',
    'CONTROL_PENDING_REQUESTS_OFFSET',
    'CONTROL_RESTARTS_OFFSET',
    'CONTROL_MESSAGES_SENT_OFFSET',
    'CONTROL_REPLIES_SENT_OFFSET',
  ]) {
    assert.equal(typeof fromTs[name], 'number', `${name} is exported by src/sidecar/layout.ts`);
    assert.equal(fromC[name], fromTs[name], `${name}: C has ${String(fromC[name])}, TypeScript has ${String(fromTs[name])}`);
  }
  assert.equal(fromC.REGION_MEMFD_NAME, REGION_MEMFD_NAME);
});

test('the host statistics fill block 0\'s second cache line, apart from the descriptor the sidecar reads', () => {
  assert.equal(layout.HOST_STATS_OFFSET, 64, 'a cache line of its own');
  assert.equal(layout.HOST_STATS_OFFSET + layout.HOST_STATS_SIZE, layout.CONTROL_STATE_OFFSET, 'the rest of block 0');
  for (const offset of [layout.CONTROL_COMMANDS_SENT_OFFSET, layout.CONTROL_MESSAGES_RECEIVED_OFFSET, layout.CONTROL_PENDING_REQUESTS_OFFSET, layout.CONTROL_RESTARTS_OFFSET]) {
    assert.ok(offset >= layout.HOST_STATS_OFFSET && offset + 4 <= layout.HOST_STATS_OFFSET + layout.HOST_STATS_SIZE);
  }
  assert.ok(layout.CONTROL_SIDECAR_INDEX_OFFSET + 4 <= layout.HOST_STATS_OFFSET, 'the index is part of the descriptor');
  assert.ok(layout.CONTROL_REPLIES_SENT_OFFSET + 4 <= 208, 'the sidecar counters leave bytes 208-255 of block 1 free');
  assert.ok(layout.CONTROL_MESSAGES_SENT_OFFSET >= layout.CONTROL_LANDLOCK_ABI_OFFSET + 4);
});
