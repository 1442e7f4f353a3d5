/**
 * The Unix domain socket alternative: length-prefixed frames (alt-frames.ts) over a stream socket between this
 * process (the server side of the connection) and a child Node process (alt-unix-socket-peer.ts) that echoes frames
 * or counts them. The peer's mode is fixed when it starts, so switching between echo and one way starts a new peer.
 * One way uses the socket's own backpressure (write() → 'drain') and, so that the receiver's count is known, a
 * credit window like the other transports. Main JavaScript thread only; a peer that dies rejects the pending call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { threadCpuNs, type CpuSides } from '../lib/cpu.js';
import { FrameReader, writeFrame } from './alt-frames.js';
import type { MessageLink } from './alt-link.js';
import { childSides, nowNs, windowFor, type OneWayPhase } from './alt-measure.js';

const PEER = fileURLToPath(new URL('./alt-unix-socket-peer.js', import.meta.url));

interface Connection {
  mode: string;
  child: ChildProcess;
  socket: net.Socket;
  sides: CpuSides;
  onFrame: (frame: Buffer) => void;
  failure: Error | undefined;
  onFail: () => void;
}

export async function unixSocket(): Promise<MessageLink> {
  const socketPath = path.join(os.tmpdir(), `ns-alt-${process.pid}-${randomBytes(6).toString('hex')}.sock`);
  const server = net.createServer();
  server.listen(socketPath);
  await once(server, 'listening');
  let conn: Connection | undefined;

  const stop = async (c: Connection): Promise<void> => {
    c.socket.destroy();
    if (c.child.exitCode === null && c.child.signalCode === null) {
      const exited = once(c.child, 'exit');
      c.child.kill();
      await exited;
    }
  };

  const connect = async (mode: string): Promise<Connection> => {
    if (conn !== undefined && conn.mode === mode) return conn;
    if (conn !== undefined) await stop(conn);
    conn = undefined;
    const [kind, ackEvery] = mode.split(':');
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const child = spawn(process.execPath, [PEER, socketPath, kind as string, ackEvery ?? '1'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const spawned = once(child, 'spawn');
    const early = once(child, 'exit').then(([code]) => {
      throw new Error(`The Unix socket peer exited before it connected (code ${String(code)}).`);
    });
    await Promise.race([spawned, early]);
    const [socket] = await Promise.race([accepted, early]);
    early.catch(() => undefined);
    socket.setNoDelay(true);
    const c: Connection = {
      mode,
      child,
      socket,
      sides: childSides(child.pid as number),
      onFrame: () => undefined,
      failure: undefined,
      onFail: () => undefined,
    };
    const reader = new FrameReader((f) => c.onFrame(f));
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    const fail = (e: Error): void => {
      c.failure ??= e;
      c.onFail();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('The Unix socket peer closed the connection.')));
    child.on('exit', (code) => fail(new Error(`The Unix socket peer exited (code ${String(code)}).`)));
    conn = c;
    return c;
  };

  await connect('echo');
  // Live: the peer changes when the mode does, and the loops read the sides after their warm-up.
  const sides: CpuSides = { js: () => threadCpuNs(), peer: () => (conn === undefined ? NaN : conn.sides.peer()) };
  return {
    sides,
    get peerPid(): number | undefined {
      return conn?.child.pid;
    },
    async echo(payload) {
      const c = await connect('echo');
      if (c.failure) throw c.failure;
      const length = await new Promise<number>((resolve) => {
        c.onFrame = (f) => resolve(f.length);
        c.onFail = () => resolve(-1);
        writeFrame(c.socket, payload);
      });
      if (c.failure) throw c.failure;
      if (length !== payload.byteLength) throw new Error(`The peer echoed ${length} bytes instead of ${payload.byteLength}.`);
    },
    async oneWay(payload, durationNs): Promise<OneWayPhase> {
      const window = windowFor(payload.byteLength);
      const c = await connect(`count:${Math.max(1, Math.floor(window / 8))}`);
      let acked = 0;
      let total = -1;
      let wake: (() => void) | null = null;
      let drained = true;
      c.onFrame = (f) => {
        if (f.length === 8 && f.readUInt32LE(0) === 1) acked = f.readUInt32LE(4);
        else if (f.length === 8 && f.readUInt32LE(0) === 2) total = f.readUInt32LE(4);
        const w = wake;
        wake = null;
        w?.();
      };
      c.onFail = () => wake?.();
      c.socket.on('drain', () => {
        drained = true;
        const w = wake;
        wake = null;
        w?.();
      });
      let sent = 0;
      const t0 = nowNs();
      const end = t0 + durationNs;
      while (nowNs() < end) {
        while (drained && sent - acked < window) {
          drained = writeFrame(c.socket, payload);
          sent++;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        if (c.failure) throw c.failure;
      }
      writeFrame(c.socket, new Uint8Array(0));
      while (total < 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        if (c.failure) throw c.failure;
      }
      c.socket.removeAllListeners('drain');
      return { received: total, elapsedNs: nowNs() - t0 };
    },
    async close() {
      if (conn !== undefined) await stop(conn);
      conn = undefined;
      server.close();
      rmSync(socketPath, { force: true });
    },
  };
}
