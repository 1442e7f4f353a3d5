/**
 * The peer of the Unix socket alternative (alt-unix-socket.ts): a child Node process that connects to the socket
 * path argv[2] and, per argv[3], either echoes every length-prefixed frame ('echo') or counts frames ('count',
 * argv[4] = ackEvery) and answers with 8-byte frames [u32 kind, u32 count]: kind 1 every ackEvery frames, kind 2 for
 * an empty frame (the report request, after which the count restarts). Exits when the connection closes; a protocol
 * error (a frame above MAX_FRAME) exits with code 1.
 */
import net from 'node:net';

import { FrameReader, writeFrame } from './alt-frames.js';

const [, , path, mode, ackArg] = process.argv;
if (path === undefined || (mode !== 'echo' && mode !== 'count')) {
  process.stderr.write('usage: alt-unix-socket-peer.js <socket path> echo|count [ackEvery]\n');
  process.exit(2);
}
const ackEvery = Math.max(1, Number(ackArg ?? 1) | 0);
const socket = net.connect(path);
socket.setNoDelay(true);
let count = 0;
let sink = 0;
const ack = (kind: number, n: number): void => {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32LE(kind, 0);
  b.writeUInt32LE(n >>> 0, 4);
  writeFrame(socket, b);
};
const reader = new FrameReader((frame) => {
  if (mode === 'echo') {
    writeFrame(socket, frame);
    return;
  }
  if (frame.length === 0) {
    ack(2, count);
    count = 0;
    return;
  }
  sink ^= frame[frame.length - 1] as number;
  if (++count % ackEvery === 0) ack(1, count);
});
socket.on('data', (chunk: Buffer) => {
  try {
    reader.push(chunk);
  } catch (e) {
    process.stderr.write(`alt-unix-socket-peer: ${(e as Error).message} (sink ${sink})\n`);
    process.exit(1);
  }
});
socket.on('close', () => process.exit(0));
socket.on('error', () => process.exit(0));
