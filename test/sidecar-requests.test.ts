import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Sidecar, examplePluginPath } from '../src/index.js';
import { MODES, testPlugin } from './helpers/sidecar-env.js';

const encoder = new TextEncoder();
const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

for (const mode of MODES) {
  describe(`sidecar requests and events in ${mode} mode`, () => {
    test('10,000 concurrent requests each get their own reply', async () => {
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode });
      try {
        const requests = Array.from({ length: 10_000 }, (_, i) => sidecar.request(`request ${i} ${'x'.repeat(i % 97)}`));
        const replies = await Promise.all(requests);
        replies.forEach((reply, i) => assert.equal(decode(reply), `request ${i} ${'x'.repeat(i % 97)}`));
        assert.equal(sidecar.pendingRequests, 0);
      } finally {
        await sidecar.stop();
      }
    });

    test('a stream of pipelined requests (many pending: the pump drains after microtask turns) lets timers and I/O callbacks run, and every reply matches', { timeout: 60_000 }, async () => {
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode });
      try {
        let ticks = 0;
        let stop = false;
        const timer = setInterval(() => ticks++, 1);
        // 256 lanes keep more than MANY_PENDING (64) requests in flight until the interval has fired 5 times.
        const lane = async (laneId: number): Promise<number> => {
          let done = 0;
          while (!stop) {
            const text = `lane ${laneId} request ${done}`;
            assert.equal(decode(await sidecar.request(text)), text);
            done++;
            if (ticks >= 5) stop = true;
          }
          return done;
        };
        const counts = await Promise.all(Array.from({ length: 256 }, (_, i) => lane(i)));
        clearInterval(timer);
        assert.ok(ticks >= 5, 'the interval fired while the replies streamed');
        assert.ok(counts.reduce((a, b) => a + b, 0) >= 256, 'every lane completed requests');
        assert.equal(sidecar.pendingRequests, 0);
      } finally {
        await sidecar.stop();
      }
    });

    test('requests through a small command ring wait in order for space and all complete', async () => {
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode, commandRingBytes: 1024, eventRingBytes: 1024 });
      try {
        const replies = await Promise.all(Array.from({ length: 2000 }, (_, i) => sidecar.request(new Uint32Array([i, i * 3]))));
        replies.forEach((reply, i) => assert.deepEqual([...new Uint32Array(reply.buffer, reply.byteOffset, 2)], [i, i * 3]));
      } finally {
        await sidecar.stop();
      }
    });

    test('events arrive in the order the plugin emitted them, through the listener and the async iterator', async () => {
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode });
      const viaListener: number[] = [];
      sidecar.on('event', (_id: number, data: Uint8Array) => viaListener.push(new DataView(data.buffer, data.byteOffset).getUint32(0, true)));
      const iterator = sidecar.events();
      const viaIterator: number[] = [];
      const collected = (async () => {
        for await (const { id, data } of { [Symbol.asyncIterator]: () => iterator }) {
          assert.equal(id, 5);
          viaIterator.push(new DataView(data.buffer, data.byteOffset).getUint32(0, true));
        }
      })();
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 20_000; i++) sends.push(sidecar.send(new Uint32Array([i]), { type: 5 }));
      await Promise.all(sends);
      await sidecar.stop();
      await collected;
      const expected = Array.from({ length: 20_000 }, (_, i) => i);
      assert.deepEqual(viaListener, expected);
      assert.deepEqual(viaIterator, expected);
    });

    test('a command larger than the ring allows is refused with ERR_RING_TOO_BIG', async () => {
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode, commandRingBytes: 4096 });
      try {
        assert.equal(sidecar.maxCommandBytes, 4096 / 2 - 16);
        assert.throws(() => sidecar.send(new Uint8Array(sidecar.maxCommandBytes + 1)), { code: 'ERR_RING_TOO_BIG' });
        assert.throws(() => sidecar.request(new Uint8Array(5000)), { code: 'ERR_RING_TOO_BIG', message: /'data'/ });
        const fits = await sidecar.request(new Uint8Array(sidecar.maxCommandBytes).fill(7));
        assert.equal(fits.byteLength, sidecar.maxCommandBytes);
      } finally {
        await sidecar.stop();
      }
    });

    test('bad arguments are refused with ERR_INVALID_ARG naming them', async () => {
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode });
      try {
        assert.throws(() => sidecar.send(42 as unknown as string), { code: 'ERR_INVALID_ARG', message: /'data'/ });
        assert.throws(() => sidecar.send('x', { type: -1 }), { code: 'ERR_INVALID_ARG', message: /'options.type'/ });
        assert.throws(() => sidecar.request('x', { timeout: -5 }), { code: 'ERR_INVALID_ARG', message: /'options.timeout'/ });
      } finally {
        await sidecar.stop();
      }
    });

    test('a plugin that fails a request without replying rejects it with ERR_SIDECAR_PLUGIN and its value', async () => {
      const sidecar = await Sidecar.start({ plugin: testPlugin('lifecycle'), mode });
      try {
        await assert.rejects(sidecar.request('x', { type: 9 }), { code: 'ERR_SIDECAR_PLUGIN', errno: 3 });
        assert.equal(decode(await sidecar.request('still fine', { type: 1 })), 'still fine');
      } finally {
        await sidecar.stop();
      }
    });

    test('host services called from a thread of the plugin are refused with NS_PLUGIN_ESTATE', async () => {
      const sidecar = await Sidecar.start({ plugin: testPlugin('lifecycle'), mode }); // type 11: calls from a thread
      try {
        const reply = await sidecar.request('t', { type: 11, timeout: 10_000 });
        const codes = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
        assert.deepEqual([codes.getInt32(0, true), codes.getInt32(4, true)], [-4, -4], 'emit_event and reply return NS_PLUGIN_ESTATE');
        assert.equal(decode(await sidecar.request('still fine', { type: 1 })), 'still fine');
      } finally {
        await sidecar.stop();
      }
    });

    test('a request without a reply rejects with ERR_TIMEOUT or ERR_ABORTED and the sidecar keeps working', async () => {
      const sidecar = await Sidecar.start({ plugin: testPlugin('lifecycle'), mode }); // type 10: never replied to
      try {
        await assert.rejects(sidecar.request('t', { type: 10, timeout: 20 }), { code: 'ERR_TIMEOUT' });
        const controller = new AbortController();
        const pending = sidecar.request('a', { type: 10, signal: controller.signal });
        controller.abort();
        await assert.rejects(pending, { code: 'ERR_ABORTED' });
        await assert.rejects(sidecar.request('x', { signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' });
        assert.equal(decode(await sidecar.request('after', { type: 1 })), 'after');
        assert.equal(sidecar.pendingRequests, 0);
      } finally {
        await sidecar.stop();
      }
    });

    test('the hash plugin answers with the iterated SHA-256 of the payload', async () => {
      const rounds = 1000;
      const config = new Uint8Array(new Uint32Array([rounds]).buffer);
      const sidecar = await Sidecar.start({ plugin: examplePluginPath('hash'), mode, config });
      try {
        const payload = encoder.encode('native work off the event loop'.repeat(1000));
        let expected = createHash('sha256').update(payload).digest();
        for (let i = 1; i < rounds; i++) expected = createHash('sha256').update(expected).digest();
        const digest = await sidecar.request(payload);
        assert.equal(Buffer.from(digest).toString('hex'), expected.toString('hex'));
      } finally {
        await sidecar.stop();
      }
    });
  });
}
