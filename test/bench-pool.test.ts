/**
 * The `pool` benchmark suite's parts (bench/pool.ts, bench/baselines/pool-hash*.ts, bench/baselines/child-pool.ts):
 * the JavaScript digest is the hash plugin's, the child_process pool answers with it, a wrong digest fails with a
 * sentence, and plan() lists what run() announces. Never checks a speed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';

import { Sidecar, examplePluginPath } from '../src/index.js';
import { makeContext } from '../bench/alt-driver.js';
import { ChildPool } from '../bench/baselines/child-pool.js';
import { hex, iteratedDigest, roundsConfig } from '../bench/baselines/pool-hash.js';
import pool, { plan, verifyDigest } from '../bench/pool.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('bench pool suite', () => {
  test('iteratedDigest with 1 round is SHA-256 of the payload, and each further round hashes the previous digest', () => {
    const abc = new TextEncoder().encode('abc');
    assert.equal(hex(iteratedDigest(abc, 1)), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const once = createHash('sha256').update(abc).digest();
    assert.deepEqual(iteratedDigest(abc, 2), createHash('sha256').update(once).digest());
  });

  test('the hash plugin replies with the digest iteratedDigest computes, for the config roundsConfig builds', async () => {
    const payload = new Uint8Array(4096).map((_, i) => (i * 31 + 7) & 0xff);
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('hash'), mode: 'thread', config: roundsConfig(5) });
    try {
      assert.equal(hex(await sidecar.request(payload)), hex(iteratedDigest(payload, 5)));
    } finally {
      await sidecar.stop();
    }
  });

  test('roundsConfig refuses a round count outside 1 … 2^32 − 1 with a RangeError naming it', () => {
    assert.throws(() => roundsConfig(0), { name: 'RangeError', message: /round count.*received 0/ });
    assert.throws(() => roundsConfig(2 ** 32), RangeError);
    assert.deepEqual([...roundsConfig(0x01020304)], [4, 3, 2, 1]);
  });

  test('the child_process pool answers concurrent requests with their digests and its children exit at close()', async () => {
    const children = await ChildPool.start(2, 3);
    const pids = children.pids;
    try {
      const payloads = Array.from({ length: 10 }, (_, i) => new Uint8Array(100 + i).fill(i));
      const digests = await Promise.all(payloads.map((p) => children.request(p)));
      digests.forEach((d, i) => assert.equal(hex(d), hex(iteratedDigest(payloads[i]!, 3)), `request ${i}`));
    } finally {
      await children.close();
    }
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.ok(!alive(pid), `child ${pid} has exited`);
  });

  test('verifyDigest fails with a sentence naming both digests when an implementation answers with another digest', async () => {
    const p = new Uint8Array(32);
    const expected = iteratedDigest(p, 16);
    const wrong = new Uint8Array(32).fill(0xab);
    const target = { request: async () => wrong, sides: { js: () => 0, peer: () => 0 }, close: async () => undefined };
    await assert.rejects(verifyDigest('a test pool', target, p, expected), (e: Error) => {
      assert.match(e.message, /^a test pool answered the 32 B payload at 16 rounds with the digest (ab){32} \(32 bytes\), but node:crypto computes [0-9a-f]{64}/);
      assert.ok(e.message.includes(hex(expected)));
      return true;
    });
    await verifyDigest('a test pool', { ...target, request: async () => expected }, p, expected);
  });

  test("plan() lists, in order, the scenarios run() announces (the child_process pool's, at smoke depth)", async () => {
    const begun: string[] = [];
    const ctx = { ...makeContext('smoke', { only: ['pool.child-process-json.'], log: () => undefined }), begin: (id: string) => void begun.push(id) };
    const planned = plan(ctx).map((s) => s.id);
    assert.deepEqual(planned, ['pool.child-process-json.children-1.pipelined.4k', 'pool.child-process-json.children-2.pipelined.4k']);
    const { results } = await pool(ctx);
    assert.deepEqual(begun, planned);
    assert.deepEqual(
      results.map((r) => r.id),
      [...planned, 'pool.child-process-json.scaling-2-vs-1'],
    );
  });
});
