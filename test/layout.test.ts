/**
 * One spec, two implementations: the C layout (native/include/native_sidecar/layout.h, printed by
 * native/test/layout_dump.c from offsetof()/sizeof() of its structs) must equal the TypeScript layout modules,
 * constant for constant, in both directions.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import * as regionLayout from '../src/region/layout.js';
import * as ringLayout from '../src/ring/layout.js';
import { nativeProgram } from './helpers/native-programs.js';

interface LayoutDump {
  constants: Record<string, number>;
  functions: Record<string, [number, number][]>;
  status: Record<string, number>;
}

const dump = JSON.parse(execFileSync(nativeProgram('layout_dump'), { encoding: 'utf8' })) as LayoutDump;

/** Every numeric export of the TypeScript layout modules, by name; a name exported twice must agree. */
function tsConstants(): Map<string, number> {
  const constants = new Map<string, number>();
  for (const module of [ringLayout, regionLayout] as Record<string, unknown>[]) {
    for (const [name, value] of Object.entries(module)) {
      if (typeof value !== 'number') continue;
      const seen = constants.get(name);
      assert.ok(seen === undefined || seen === value, `${name} is exported twice with different values`);
      constants.set(name, value);
    }
  }
  return constants;
}

/**
 * src/ring/layout.ts may also export Int32Array indices named *_I32 for the *_OFFSET of the same word; C has no
 * such constants, so they are checked against the C offset divided by 4.
 */
function cValueFor(name: string): number | undefined {
  if (name in dump.constants) return dump.constants[name];
  const base = /^(.*)_I32$/.exec(name)?.[1];
  const offset = base === undefined ? undefined : dump.constants[`${base}_OFFSET`];
  return offset === undefined ? undefined : offset / Int32Array.BYTES_PER_ELEMENT;
}

describe('status.h and the table of return codes in docs/wire-format.md §6 (issue 8, rule 4)', () => {
  test('every C return code has the value the spec states, and the spec lists every code', () => {
    const spec = readFileSync(new URL('../../docs/wire-format.md', import.meta.url), 'utf8');
    const table = new Map<string, number>();
    for (const m of spec.matchAll(/^\| `(NS_RING_[A-Z]+)` +\| +(−?\d+) +\|/gm)) table.set(m[1]!, Number(m[2]!.replace('−', '-')));
    assert.deepEqual(Object.fromEntries(table), dump.status);
  });
});

describe('layout.h and the TypeScript layout modules', () => {
  const ts = tsConstants();

  test('layout_dump prints a constant for every constant of src/ring/layout.ts and src/region/layout.ts', () => {
    const missing = [...ts.keys()].filter((name) => cValueFor(name) === undefined);
    assert.deepEqual(missing, [], `constants with no C counterpart in layout_dump: ${missing.join(', ')}`);
  });

  test('every constant layout_dump prints exists in the TypeScript modules', () => {
    const missing = Object.keys(dump.constants).filter((name) => !ts.has(name));
    assert.deepEqual(missing, [], `C constants missing from the TypeScript layout modules: ${missing.join(', ')}`);
  });

  test('every constant has the same value in C and TypeScript', () => {
    const differing = [...ts].filter(([name, value]) => cValueFor(name) !== value);
    assert.deepEqual(
      differing.map(([name, value]) => `${name}: TS ${value}, C ${String(cValueFor(name))}`),
      [],
    );
  });

  test('the TypeScript size helpers agree with ring.h at every sample layout_dump evaluates', () => {
    const functions: Record<string, (n: number) => number> = {
      ringSegmentSize: ringLayout.ringSegmentSize,
      maxPayloadFor: ringLayout.maxPayloadFor,
      recordSize: ringLayout.recordSize,
    };
    assert.deepEqual(Object.keys(dump.functions).sort(), Object.keys(functions).sort());
    for (const [name, samples] of Object.entries(dump.functions)) {
      const fn = functions[name];
      assert.ok(fn, `no TypeScript counterpart for ${name}`);
      assert.ok(samples.length > 0);
      for (const [argument, expected] of samples) {
        assert.equal(fn(argument), expected, `${name}(${argument})`);
      }
    }
  });

  test('the structs have the sizes the spec gives', () => {
    assert.equal(dump.constants.RING_HEADER_SIZE, ringLayout.RING_HEADER_SIZE);
    assert.equal(dump.constants.RING_DATA_OFFSET, 4 * ringLayout.BLOCK_SIZE);
    assert.equal(dump.constants.REGION_HEADER_SIZE, regionLayout.REGION_HEADER_SIZE);
    assert.equal(
      regionLayout.REGION_SEGMENTS_OFFSET + regionLayout.REGION_MAX_SEGMENTS * regionLayout.SEGMENT_ENTRY_SIZE,
      regionLayout.REGION_HEADER_SIZE,
    );
  });
});
