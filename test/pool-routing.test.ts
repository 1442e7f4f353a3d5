/**
 * SidecarPool routing (issue 12): least-busy dispatch under uneven request cost, and key affinity (every request with
 * one key reaches one member instance, in order; different keys spread over the members, starting them as needed).
 * The faulty test plugin's type 9 reply names the member instance that answered (pid and per-init instance number,
 * so thread-mode members are told apart too); type 8 sleeps, which makes a request slow without a timed assertion.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SidecarPool } from '../src/index.js';
import { MODES } from './helpers/sidecar-env.js';
import { FAULTY, IDENTIFY, SLEEP, guardUnhandledRejections, sleepFor, tagOf, who } from './helpers/pool-env.js';

guardUnhandledRejections();

for (const mode of MODES) {
  describe(`pool routing (${mode} mode)`, () => {
    test('while one member runs a slow request, every fast request goes to the other member and completes before the slow one', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 2, concurrency: 1 });
      try {
        assert.equal(pool.stats().size, 2, 'a fixed size of 2 starts both members');
        let slowDone = false;
        // 1 s is a hang guard for the 20 fast round trips, not a measurement: they take microseconds each.
        const slow = pool.request(sleepFor(1000, 'slow'), { type: SLEEP }).then((reply) => {
          slowDone = true;
          return reply;
        });
        const fast = Array.from({ length: 20 }, () =>
          pool.request('', { type: IDENTIFY }).then((reply) => ({ member: who(reply), whileSlowRan: !slowDone })),
        );
        const answers = await Promise.all(fast);
        assert.deepEqual(answers.map((a) => a.whileSlowRan), Array(20).fill(true), 'every fast request completed while the slow one ran');
        assert.equal(new Set(answers.map((a) => a.member)).size, 1, 'all fast requests were answered by one member');
        assert.equal(tagOf(await slow), 'slow');
        const perMember = pool.stats().members.map((m) => m.completed).sort((a, b) => a - b);
        assert.deepEqual(perMember, [1, 20], 'one member completed the slow request, the other the 20 fast ones');
        assert.equal(pool.stats().completed, 21);
      } finally {
        await pool.stop();
      }
    });

    test('with room on both members, each request goes to the member with fewer in flight: fast requests never wait behind a slow one', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 2, concurrency: 4 });
      try {
        let slowDone = false;
        const slow = pool.request(sleepFor(1000, 'slow'), { type: SLEEP }).then((reply) => {
          slowDone = true;
          return reply;
        });
        // One at a time: the slow member (1 in flight) always has room for 3 more, the other has 0 in flight.
        const members = new Set<string>();
        for (let i = 0; i < 20; i++) {
          members.add(who(await pool.request('', { type: IDENTIFY })));
          assert.equal(slowDone, false, `fast request ${i} completed while the slow one ran`);
        }
        assert.equal(members.size, 1, 'all fast requests were answered by the member that had nothing in flight');
        assert.equal(tagOf(await slow), 'slow');
        assert.deepEqual(pool.stats().members.map((m) => m.completed).sort((a, b) => a - b), [1, 20]);
      } finally {
        await pool.stop();
      }
    });

    test('requests with the same key all reach the same member instance and are answered in the order they were made', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 2, concurrency: 1 });
      try {
        const keys = ['alpha', 'beta', 'gamma', 'delta', 7, 42];
        const order = new Map<string | number, string[]>();
        const members = new Map<string | number, Set<string>>();
        const all: Promise<unknown>[] = [];
        for (const key of keys) {
          order.set(key, []);
          members.set(key, new Set());
          // The first request of each key is slow: were later ones sent elsewhere, they would be answered first.
          for (let i = 0; i < 6; i++) {
            const payload = sleepFor(i === 0 ? 150 : 0, `${key}:${i}`);
            all.push(pool.request(payload, { type: SLEEP, key }).then((reply) => order.get(key)!.push(tagOf(reply))));
            all.push(pool.request('', { type: IDENTIFY, key }).then((reply) => members.get(key)!.add(who(reply))));
          }
        }
        await Promise.all(all);
        for (const key of keys) {
          assert.deepEqual(order.get(key), Array.from({ length: 6 }, (_, i) => `${key}:${i}`), `key ${String(key)} kept its order`);
          assert.equal(members.get(key)!.size, 1, `key ${String(key)} reached one member instance: ${[...members.get(key)!].join(', ')}`);
        }
        // A number key and the same number again are one key.
        const a = who(await pool.request('', { type: IDENTIFY, key: 42 }));
        assert.equal(a, [...members.get(42)!][0]);
      } finally {
        await pool.stop();
      }
    });

    test('different keys spread over the members, and a key whose member is not running starts it', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: { min: 1, max: 2 }, concurrency: 1, idleTimeoutMs: 60_000 });
      try {
        assert.equal(pool.stats().size, 1, 'min 1: one member at the start');
        const keys = Array.from({ length: 16 }, (_, i) => `user-${i}`);
        const byKey = new Map<string, string>();
        for (const key of keys) byKey.set(key, who(await pool.request('', { type: IDENTIFY, key })));
        assert.equal(new Set(byKey.values()).size, 2, `16 keys reached both members: ${JSON.stringify([...byKey])}`);
        assert.equal(pool.stats().size, 2, 'the second member was started for its keys');
        // Asked again, every key reaches the member it reached before.
        for (const key of keys) assert.equal(who(await pool.request('', { type: IDENTIFY, key })), byKey.get(key), key);
      } finally {
        await pool.stop();
      }
    });

    test('a send with a key is processed in order with the requests of that key, on the same member', async () => {
      const pool = await SidecarPool.start({ plugin: FAULTY, mode, size: 2, concurrency: 1 });
      try {
        const events: { tag: string; member: number }[] = [];
        pool.on('event', (id: number, data: Uint8Array, member: number) => {
          if (id === SLEEP) events.push({ tag: tagOf(data), member });
        });
        const replies: string[] = [];
        const slow = pool.request(sleepFor(150, 'first'), { type: SLEEP, key: 'k' }).then((r) => replies.push(tagOf(r)));
        const sent = pool.send(sleepFor(0, 'second'), { type: SLEEP, key: 'k' });
        const third = pool.request(sleepFor(0, 'third'), { type: SLEEP, key: 'k' }).then((r) => {
          replies.push(tagOf(r));
          return [...events];
        });
        await slow;
        await sent;
        const eventsWhenThirdAnswered = await third;
        assert.deepEqual(replies, ['first', 'third']);
        assert.deepEqual(eventsWhenThirdAnswered.map((e) => e.tag), ['second'], 'the send was processed before the request behind it');
        const keyMember = pool.stats().members.find((m) => m.completed === 2);
        assert.ok(keyMember !== undefined, `one member answered both requests: ${JSON.stringify(pool.stats().members)}`);
        assert.equal(eventsWhenThirdAnswered[0]!.member, keyMember.member, 'the send went to the key member');
      } finally {
        await pool.stop();
      }
    });
  });
}
