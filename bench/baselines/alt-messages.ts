/**
 * Message-passing alternatives of the `alternatives` suite, each with bench/baselines/alt-message-peer.ts on the other
 * side: worker_threads postMessage (structured clone, a copy), a MessageChannel port handed to a worker, and
 * child_process IPC with serialization 'json' (the payload travels as a base64 string in `{ d }`) or 'advanced'
 * (a Buffer, as bytes).
 *
 * One way: at most windowFor(size) messages unacknowledged (the peer acknowledges every window/8), because
 * postMessage and IPC have no backpressure of their own and an unbounded sender only measures its own queue.
 * Main JavaScript thread only. A peer that dies makes the pending echo or phase reject.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';

import type { CpuSides } from '../lib/cpu.js';
import type { MessageLink } from './alt-link.js';
import { childSides, inProcSides, nowNs, windowFor, type OneWayPhase } from './alt-measure.js';

const PEER = new URL('./alt-message-peer.js', import.meta.url);

type Codec = 'bytes' | 'base64';

interface Poster {
  post(m: unknown): void;
  on(handler: (m: unknown) => void): void;
  /** Resolves with an error when the peer goes away. */
  died: Promise<Error>;
}

function encode(codec: Codec, p: Uint8Array): unknown {
  return codec === 'bytes' ? p : { d: Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('base64') };
}

function decodedLength(codec: Codec, m: unknown): number {
  if (codec === 'bytes') return m instanceof Uint8Array ? m.byteLength : -1;
  const d = (m as { d?: unknown } | null)?.d;
  return typeof d === 'string' ? Buffer.from(d, 'base64').byteLength : -1;
}

function postingLink(p: Poster, codec: Codec, sides: CpuSides, close: () => Promise<void>, peerPid?: number): MessageLink {
  let mode: 'echo' | 'count' = 'echo';
  let replied: ((length: number) => void) | null = null;
  let wake: (() => void) | null = null;
  let acked = 0;
  let total = -1;
  let failure: Error | undefined;
  void p.died.then((e) => {
    failure = e;
    wake?.();
    replied?.(-1);
  });
  p.on((m) => {
    if (typeof m === 'number') {
      acked = m;
    } else if (typeof m === 'object' && m !== null && 'total' in m) {
      total = (m as { total: number }).total;
    } else {
      const r = replied;
      replied = null;
      r?.(decodedLength(codec, m));
      return;
    }
    const w = wake;
    wake = null;
    w?.();
  });
  const check = (): void => {
    if (failure !== undefined) throw failure;
  };
  return {
    sides,
    peerPid,
    async echo(payload) {
      check();
      if (mode !== 'echo') {
        p.post({ cmd: 'echo' });
        mode = 'echo';
      }
      const length = await new Promise<number>((resolve) => {
        replied = resolve;
        p.post(encode(codec, payload));
      });
      check();
      if (length !== payload.byteLength) throw new Error(`The peer echoed ${length} bytes instead of ${payload.byteLength}.`);
    },
    async oneWay(payload, durationNs): Promise<OneWayPhase> {
      check();
      const window = windowFor(payload.byteLength);
      acked = 0;
      total = -1;
      p.post({ cmd: 'count', ackEvery: Math.max(1, Math.floor(window / 8)) });
      mode = 'count';
      let sent = 0;
      const t0 = nowNs();
      const end = t0 + durationNs;
      while (nowNs() < end) {
        while (sent - acked < window) {
          p.post(encode(codec, payload));
          sent++;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        check();
      }
      p.post({ cmd: 'report' });
      while (total < 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        check();
      }
      return { received: total, elapsedNs: nowNs() - t0 };
    },
    close,
  };
}

/** worker_threads postMessage of a Uint8Array to a worker (structured clone: a copy each way). */
export async function workerPostMessage(): Promise<MessageLink> {
  const worker = new Worker(PEER, { workerData: { codec: 'bytes' } });
  await once(worker, 'online');
  const died = new Promise<Error>((resolve) => {
    worker.once('error', (e) => resolve(e));
    worker.once('exit', (code) => resolve(new Error(`The postMessage peer worker exited (code ${code}).`)));
  });
  return postingLink(
    { post: (m) => worker.postMessage(m), on: (h) => worker.on('message', h), died },
    'bytes',
    inProcSides(),
    async () => {
      await worker.terminate();
    },
  );
}

/** A MessageChannel: port1 here, port2 transferred to a worker that talks only over it. */
export async function messageChannel(): Promise<MessageLink> {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(PEER, { workerData: { codec: 'bytes', port: port2 }, transferList: [port2] });
  await once(worker, 'online');
  const died = new Promise<Error>((resolve) => {
    worker.once('error', (e) => resolve(e));
    worker.once('exit', (code) => resolve(new Error(`The MessageChannel peer worker exited (code ${code}).`)));
  });
  return postingLink(
    { post: (m) => port1.postMessage(m), on: (h) => port1.on('message', h), died },
    'bytes',
    inProcSides(),
    async () => {
      port1.close();
      await worker.terminate();
    },
  );
}

/** child_process IPC to a forked Node process: 'json' (payload as base64 in `{ d }`) or 'advanced' (Buffer). */
export async function childIpc(serialization: 'json' | 'advanced'): Promise<MessageLink> {
  const codec: Codec = serialization === 'json' ? 'base64' : 'bytes';
  const child: ChildProcess = fork(fileURLToPath(PEER), [codec], { serialization, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await once(child, 'spawn');
  const pid = child.pid;
  if (pid === undefined) throw new Error('The child_process IPC peer has no pid.');
  const died = new Promise<Error>((resolve) => {
    child.once('error', (e) => resolve(e));
    child.once('exit', (code, signal) => resolve(new Error(`The child_process IPC peer exited (code ${code}, signal ${signal}).`)));
  });
  return postingLink(
    { post: (m) => child.send(m as never), on: (h) => child.on('message', h), died },
    codec,
    childSides(pid),
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      if (child.connected) child.disconnect();
      else child.kill();
      await exited;
    },
    pid,
  );
}
