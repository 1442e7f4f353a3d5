// Argument errors of the Sidecar API: every bad input to start(), send(), request() and stop() is a SidecarError
// ERR_INVALID_ARG whose sentence names the argument; unknown option keys are refused with the closest known key
// suggested; a timeout of 0 is refused everywhere it is a timeout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Sidecar, SidecarError, examplePluginPath } from '../src/index.js';
import { editDistance } from '../src/option-keys.js';
import { isArgumentError } from './helpers/guards.js';

const plugin = examplePluginPath('echo');


/** [the argument the error must name, the options of start()] */
const START_CASES: [string, unknown][] = [
  ['options', undefined],
  ['options', null],
  ['options', 'echo.so'],
  ['options', [plugin]],
  ['options.plugin', {}],
  ['options.plugin', { plugin: '' }],
  ['options.plugin', { plugin: 'a\0b' }],
  ['options.plugin', { plugin: 42 }],
  ['options.mode', { plugin, mode: 'fiber' }],
  ['options.config', { plugin, config: 42 }],
  ['options.config', { plugin, config: [1, 2] }],
  ['options.host', { plugin, host: 'callbacks' }],
  ['options.host', { plugin, host: null }],
  ['options.host.init', { plugin, host: { init: true } }],
  ['options.host.process', { plugin, host: { process: 'f' } }],
  ['options.host.event', { plugin, host: { event: 1 } }],
  ['options.host.log', { plugin, host: { log: {} } }],
  ['options.host.dispose', { plugin, host: { dispose: null } }],
  ['options.waitPolicy', { plugin, waitPolicy: 'spin' }],
  ['options.waitPolicy.mode', { plugin, waitPolicy: { mode: 'nap' } }],
  ['options.waitPolicy.mode', { plugin, waitPolicy: {} }],
  ['options.waitPolicy.spinMicros', { plugin, waitPolicy: { mode: 'spin', spinMicros: -1 } }],
  ['options.waitPolicy.spinMicros', { plugin, waitPolicy: { mode: 'spin', spinMicros: 2.5 } }],
  ['options.commandRingBytes', { plugin, commandRingBytes: 3000 }],
  ['options.commandRingBytes', { plugin, commandRingBytes: '1024' }],
  ['options.eventRingBytes', { plugin, eventRingBytes: 1 }],
  ['options.restart', { plugin, mode: 'process', restart: 3 }],
  ['options.restart', { plugin, restart: true }],
  ['options.restart.maxRestarts', { plugin, mode: 'process', restart: { maxRestarts: -1 } }],
  ['options.restart.backoffMs', { plugin, mode: 'process', restart: { backoffMs: 'fast' } }],
  ['options.restart.maxBackoffMs', { plugin, mode: 'process', restart: { maxBackoffMs: 1.5 } }],
  ['options.restart.resetAfterMs', { plugin, mode: 'process', restart: { resetAfterMs: 2 ** 31 } }],
  ['options.watchdog', { plugin, watchdog: 5000 }],
  ['options.watchdog.timeoutMs', { plugin, watchdog: {} }],
  ['options.watchdog.timeoutMs', { plugin, watchdog: { timeoutMs: 0 } }],
  ['options.startTimeoutMs', { plugin, startTimeoutMs: 0 }],
  ['options.startTimeoutMs', { plugin, startTimeoutMs: Infinity }],
  ['options.stopTimeoutMs', { plugin, stopTimeoutMs: -1 }],
  ['options.maxQueue', { plugin, maxQueue: -1 }],
  ['options.maxQueueBytes', { plugin, maxQueueBytes: NaN }],
  ['options.maxInitEventBytes', { plugin, maxInitEventBytes: 2 ** 31 }],
  ['options.eventStreamHighWaterMark', { plugin, eventStreamHighWaterMark: 0 }],
  ['options.sandbox', { plugin, sandbox: {} }],
  ['options.sandbox', { plugin, mode: 'process', sandbox: 'yes' }],
  ['options.sandbox.env', { plugin, mode: 'process', sandbox: { env: 'PATH' } }],
  ['options.sandbox.env[0]', { plugin, mode: 'process', sandbox: { env: ['BAD NAME'] } }],
  ['options.sandbox.env.A', { plugin, mode: 'process', sandbox: { env: { A: 1 } } }],
  ['options.sandbox.readPaths', { plugin, mode: 'process', sandbox: { readPaths: '/tmp' } }],
  ['options.sandbox.readPaths[0]', { plugin, mode: 'process', sandbox: { readPaths: ['/no/such/path'] } }],
  ['options.sandbox.writePaths[1]', { plugin, mode: 'process', sandbox: { writePaths: ['/tmp', ''] } }],
  ['options.sandbox.network', { plugin, mode: 'process', sandbox: { network: 1 } }],
  ['options.sandbox.bestEffort', { plugin, mode: 'process', sandbox: { bestEffort: 'no' } }],
  ['options.sandbox.limits', { plugin, mode: 'process', sandbox: { limits: 1 } }],
  ['options.sandbox.limits.memoryBytes', { plugin, mode: 'process', sandbox: { limits: { memoryBytes: 1024 } } }],
  ['options.sandbox.limits.cpuSeconds', { plugin, mode: 'process', sandbox: { limits: { cpuSeconds: 0 } } }],
  ['options.sandbox.limits.openFiles', { plugin, mode: 'process', sandbox: { limits: { openFiles: 3 } } }],
  ['options.trustPluginFile', { plugin, trustPluginFile: 'yes' }],
];

describe('argument errors of Sidecar.start()', () => {
  test('every bad option makes start() reject with a SidecarError ERR_INVALID_ARG whose sentence names the option', async () => {
    for (const [name, options] of START_CASES) {
      await assert.rejects(Sidecar.start(options as never), isArgumentError(name), `start(${JSON.stringify(options)})`);
    }
  });

  test('an unknown option key is refused with ERR_INVALID_ARG naming it and suggesting the closest known key, at every level', async () => {
    const cases: [unknown, string, string][] = [
      [{ plugin, modee: 'process' }, 'options.modee', 'options.mode'],
      [{ plugin, modee: undefined }, 'options.modee', 'options.mode'], // a key is a key, whatever its value
      [{ plugin, Mode: 'thread' }, 'options.Mode', 'options.mode'],
      [{ plugin, waitpolicy: { mode: 'park' } }, 'options.waitpolicy', 'options.waitPolicy'],
      [{ plugin, comandRingBytes: 4096 }, 'options.comandRingBytes', 'options.commandRingBytes'],
      [{ plugin, startTimeout: 100 }, 'options.startTimeout', 'options.startTimeoutMs'],
      [{ plugin, mode: 'process', restart: { maxRestart: 1 } }, 'options.restart.maxRestart', 'options.restart.maxRestarts'],
      [{ plugin, mode: 'process', restart: { backofMs: 1 } }, 'options.restart.backofMs', 'options.restart.backoffMs'],
      [{ plugin, watchdog: { timeout: 100 } }, 'options.watchdog.timeout', 'options.watchdog.timeoutMs'],
      [{ plugin, waitPolicy: { mode: 'spin', spinMicro: 5 } }, 'options.waitPolicy.spinMicro', 'options.waitPolicy.spinMicros'],
      [{ plugin, mode: 'process', sandbox: { readPath: ['/tmp'] } }, 'options.sandbox.readPath', 'options.sandbox.readPaths'],
      [{ plugin, mode: 'process', sandbox: { netwrok: true } }, 'options.sandbox.netwrok', 'options.sandbox.network'],
      [{ plugin, mode: 'process', sandbox: { limits: { memory: 1 << 30 } } }, 'options.sandbox.limits.memory', 'options.sandbox.limits.memoryBytes'],
      [{ plugin, mode: 'process', sandbox: { limits: { openfiles: 64 } } }, 'options.sandbox.limits.openfiles', 'options.sandbox.limits.openFiles'],
    ];
    for (const [options, name, suggestion] of cases) {
      await assert.rejects(
        Sidecar.start(options as never),
        isArgumentError(name, new RegExp(`is not a known option; did you mean '${suggestion.replace(/\./g, '\\.')}'\\?$`)),
        JSON.stringify(options),
      );
    }
  });

  test('an unknown key like no known one is refused with the list of the known keys', async () => {
    await assert.rejects(
      Sidecar.start({ plugin, colour: 'red' } as never),
      isArgumentError('options.colour', /not a known option; the options are 'plugin', 'mode', .* and 'scheduling'\.$/),
    );
    await assert.rejects(
      Sidecar.start({ plugin, watchdog: { kill: true } } as never),
      isArgumentError('options.watchdog.kill', /the only option is 'timeoutMs'\.$/),
    );
  });

  test('the host table may carry keys of its own, and inherited keys of an options object are not options', async () => {
    const host = { seen: 0, event(this: { seen: number }) { this.seen++; } };
    const options = Object.assign(Object.create({ inherited: true }) as object, { plugin, host });
    const sidecar = await Sidecar.start(options as never);
    try {
      await sidecar.request('x');
      await sidecar.send('y');
    } finally {
      await sidecar.stop();
    }
    assert.equal(host.seen, 1, 'the echo of send() reached host.event with the table as this');
  });

  test('a start refused for its options leaves nothing to stop: the same options with the key fixed start', async () => {
    await assert.rejects(Sidecar.start({ plugin, stopTimeoutMS: 100 } as never), isArgumentError('options.stopTimeoutMS', /'options\.stopTimeoutMs'/));
    const sidecar = await Sidecar.start({ plugin, stopTimeoutMs: 100 });
    assert.equal((await sidecar.stop()).reason, 'stopped');
  });
});

describe('argument errors of send(), request() and stop()', () => {
  let sidecar: Sidecar;
  before(async () => {
    sidecar = await Sidecar.start({ plugin, commandRingBytes: 4096 });
  });
  after(async () => {
    await sidecar.stop();
  });

  test('every bad argument is thrown synchronously as a SidecarError ERR_INVALID_ARG naming it, and nothing is sent', async () => {
    const detached = new ArrayBuffer(8);
    const detachedView = new Uint8Array(detached, 2, 4);
    structuredClone(detached, { transfer: [detached] });
    const cases: [string, () => unknown][] = [
      ['data', () => sidecar.send(42 as never)],
      ['data', () => sidecar.send(null as never)],
      ['data', () => sidecar.send({ length: 1 } as never)],
      ['data', () => sidecar.send(detached)],
      ['data', () => sidecar.request(detachedView)],
      ['data', () => sidecar.request([1, 2, 3] as never)],
      ['options', () => sidecar.send('x', 1 as never)],
      ['options', () => sidecar.send('x', null as never)],
      ['options', () => sidecar.request('x', 'fast' as never)],
      ['options', () => sidecar.request('x', [] as never)],
      ['options', () => sidecar.stop(null as never)],
      ['options', () => sidecar.stop(5000 as never)],
      ['options.type', () => sidecar.send('x', { type: -1 })],
      ['options.type', () => sidecar.send('x', { type: 2 ** 32 })],
      ['options.type', () => sidecar.request('x', { type: 1.5 })],
      ['options.type', () => sidecar.request('x', { type: '1' as never })],
      ['options.timeout', () => sidecar.request('x', { timeout: -5 })],
      ['options.timeout', () => sidecar.request('x', { timeout: 0 })],
      ['options.timeout', () => sidecar.request('x', { timeout: Infinity })],
      ['options.timeout', () => sidecar.request('x', { timeout: 2 ** 31 })],
      ['options.signal', () => sidecar.request('x', { signal: {} as never })],
      ['options.timeout', () => sidecar.stop({ timeout: 0 })],
      ['options.timeout', () => sidecar.stop({ timeout: '1s' as never })],
      ['options.drain', () => sidecar.stop({ drain: 'no' as never })],
      ['options.typ', () => sidecar.send('x', { typ: 1 } as never)],
      ['options.timeout', () => sidecar.send('x', { timeout: 100 } as never)], // send() has no timeout
      ['options.timout', () => sidecar.request('x', { timout: 100 } as never)],
      ['options.signl', () => sidecar.request('x', { signl: AbortSignal.timeout(100) } as never)],
      ['options.drian', () => sidecar.stop({ drian: false } as never)],
      ['options.type', () => sidecar.stop({ type: 1 } as never)],
    ];
    const processed = sidecar.processedCount;
    for (const [name, call] of cases) assert.throws(call, isArgumentError(name), `${name}: ${call.toString()}`);
    assert.equal(sidecar.pendingRequests, 0);
    assert.equal(sidecar.queuedCommands, 0);
    // stop() was refused each time: the sidecar still serves, and none of the refused commands reached the plugin.
    assert.deepEqual(await sidecar.request('still here'), new TextEncoder().encode('still here'));
    assert.equal(sidecar.processedCount, processed + 1);
  });

  test('unknown option keys of send(), request() and stop() are refused with the closest known key, or the list', () => {
    assert.throws(() => sidecar.send('x', { tpye: 1 } as never), isArgumentError('options.tpye', /did you mean 'options\.type'\?$/));
    assert.throws(() => sidecar.send('x', { timeout: 100 } as never), isArgumentError('options.timeout', /the only option is 'type'\.$/));
    assert.throws(() => sidecar.request('x', { timout: 100 } as never), isArgumentError('options.timout', /did you mean 'options\.timeout'\?$/));
    assert.throws(() => sidecar.request('x', { Signal: undefined } as never), isArgumentError('options.Signal', /did you mean 'options\.signal'\?$/));
    assert.throws(() => sidecar.request('x', { retries: 3 } as never), isArgumentError('options.retries', /the options are 'type', 'timeout' and 'signal'\.$/));
    assert.throws(() => sidecar.stop({ drian: false } as never), isArgumentError('options.drian', /did you mean 'options\.drain'\?$/));
    assert.throws(() => sidecar.stop({ timeoutMs: 100 } as never), isArgumentError('options.timeoutMs', /did you mean 'options\.timeout'\?$/));
  });

  test('a command larger than the ring is a SidecarError ERR_RING_TOO_BIG naming data, thrown before anything is sent', () => {
    assert.throws(() => sidecar.send(new Uint8Array(sidecar.maxCommandBytes + 1)), (error: unknown) => {
      assert.ok(error instanceof SidecarError);
      assert.equal(error.code, 'ERR_RING_TOO_BIG');
      assert.match(error.message, /^The argument 'data' is \d+ bytes long/);
      return true;
    });
  });

  test('options left out, undefined values and inherited keys are fine', async () => {
    const inherited = Object.assign(Object.create({ junk: 1 }) as object, { type: 3 }) as { type: number };
    await sidecar.send('a', inherited);
    await sidecar.send('b', { type: undefined });
    assert.equal(new TextDecoder().decode(await sidecar.request('c', { type: 2, timeout: undefined, signal: undefined })), 'c');
    assert.equal(new TextDecoder().decode(await sidecar.request('d', {})), 'd');
  });
});

describe('timeout: 0', () => {
  test('is refused wherever a Sidecar takes a timeout, with a sentence saying how to get the default', async () => {
    await assert.rejects(Sidecar.start({ plugin, startTimeoutMs: 0 }), isArgumentError('options.startTimeoutMs', /from 1 to 2147483647 \(milliseconds; leave it out for the default, 10000\)/));
    await assert.rejects(Sidecar.start({ plugin, stopTimeoutMs: 0 }), isArgumentError('options.stopTimeoutMs', /leave it out for the default, 5000/));
    await assert.rejects(Sidecar.start({ plugin, watchdog: { timeoutMs: 0 } }), isArgumentError('options.watchdog.timeoutMs', /from 1 to/));
    const sidecar = await Sidecar.start({ plugin, stopTimeoutMs: 2000 });
    try {
      assert.throws(() => sidecar.request('x', { timeout: 0 }), isArgumentError('options.timeout', /from 1 to 2147483647 \(milliseconds; leave it out for no timeout\)/));
      assert.throws(() => sidecar.stop({ timeout: 0 }), isArgumentError('options.timeout', /leave it out for options\.stopTimeoutMs, 2000/));
      // The smallest allowed timeout is a real one: the request either is answered or times out, and settles.
      await sidecar.request('x', { timeout: 1 }).catch((error: SidecarError) => assert.equal(error.code, 'ERR_TIMEOUT'));
    } finally {
      await sidecar.stop();
    }
  });

  test('delays may be 0: a restart policy with backoffMs 0 restarts at once', async () => {
    const sidecar = await Sidecar.start({ plugin, mode: 'process', restart: { backoffMs: 0, maxBackoffMs: 0 } });
    try {
      const restarted = new Promise<number>((resolve) => sidecar.once('restart', (r) => resolve(r.delayMs)));
      process.kill(sidecar.pid, 'SIGKILL');
      assert.equal(await restarted, 0);
      assert.equal(new TextDecoder().decode(await sidecar.request('back')), 'back');
    } finally {
      await sidecar.stop();
    }
  });
});

describe('editDistance', () => {
  test('counts insertions, deletions, substitutions and swaps of neighbours as one edit each', () => {
    assert.equal(editDistance('mode', 'mode'), 0);
    assert.equal(editDistance('modee', 'mode'), 1);
    assert.equal(editDistance('mod', 'mode'), 1);
    assert.equal(editDistance('mdoe', 'mode'), 1);
    assert.equal(editDistance('node', 'mode'), 1);
    assert.equal(editDistance('', 'mode'), 4);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('timeout', 'type'), 5);
  });
});
