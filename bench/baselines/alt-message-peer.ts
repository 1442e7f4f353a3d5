/**
 * The peer of the message-passing alternatives (bench/baselines/alt-messages.ts): runs as a worker thread (talking
 * over parentPort, or over the MessagePort passed in workerData.port) or as a child process started with
 * child_process.fork (talking over its IPC channel; argv[2] is the codec).
 *
 * Codec: 'bytes' — a payload is a Uint8Array (structured clone, or 'advanced' serialization); 'base64' — a payload is
 * `{ d: <base64 string> }` (the 'json' serialization of child_process cannot carry bytes). Every payload is decoded to
 * bytes on arrival (a peer that uses the data must), and an echo is encoded again.
 * Protocol: `{ cmd: 'echo' }` (the default) — every payload is sent back; `{ cmd: 'count', ackEvery }` — payloads are
 * counted and the running count is sent every `ackEvery`; `{ cmd: 'report' }` — `{ total }` is sent and the count reset.
 * The peer ends when its port or IPC channel closes. A message of another shape is ignored.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';

type Codec = 'bytes' | 'base64';
interface Channel {
  post(m: unknown): void;
  on(handler: (m: unknown) => void): void;
}

function channel(): { ch: Channel; codec: Codec } {
  if (parentPort !== null) {
    const data = workerData as { port?: MessagePort; codec?: Codec } | undefined;
    const port = data?.port ?? parentPort;
    return { ch: { post: (m) => port.postMessage(m), on: (h) => port.on('message', h) }, codec: data?.codec ?? 'bytes' };
  }
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('alt-message-peer.js must run as a worker thread or a forked child with an IPC channel.');
  process.on('disconnect', () => process.exit(0));
  return { ch: { post: (m) => send(m), on: (h) => process.on('message', h) }, codec: process.argv[2] === 'base64' ? 'base64' : 'bytes' };
}

const { ch, codec } = channel();
let counting = false;
let ackEvery = 1;
let count = 0;
let sink = 0;

function decode(m: unknown): Uint8Array | undefined {
  if (codec === 'bytes') return m instanceof Uint8Array ? m : undefined;
  const d = (m as { d?: unknown } | null)?.d;
  return typeof d === 'string' ? Buffer.from(d, 'base64') : undefined;
}

ch.on((m) => {
  const bytes = decode(m);
  if (bytes !== undefined) {
    if (!counting) {
      ch.post(codec === 'bytes' ? bytes : { d: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') });
      return;
    }
    sink ^= bytes.byteLength > 0 ? (bytes[bytes.byteLength - 1] as number) : 0;
    if (++count % ackEvery === 0) ch.post(count);
    return;
  }
  const c = m as { cmd?: string; ackEvery?: number } | null;
  if (c?.cmd === 'echo') counting = false;
  else if (c?.cmd === 'count') {
    counting = true;
    ackEvery = Math.max(1, c.ackEvery ?? 1);
    count = 0;
  } else if (c?.cmd === 'report') {
    ch.post({ total: count, sink });
    count = 0;
  }
});
