/**
 * Worker side of the postMessage baselines (bench/baselines/postmessage.ts). Runs on its own worker thread.
 * Protocol on parentPort: { cmd: 'echo' } → echo every Uint8Array back; { cmd: 'count', ackEvery } → count
 * Uint8Arrays and post the running count every `ackEvery` messages; { cmd: 'report' } → post { total } (and reset).
 */
import { parentPort } from 'node:worker_threads';

if (!parentPort) throw new Error('postmessage-worker.js must run as a worker thread.');
const port = parentPort;
let mode: 'echo' | 'count' = 'echo';
let ackEvery = 0;
let count = 0;

port.on('message', (msg: unknown) => {
  if (msg instanceof Uint8Array) {
    if (mode === 'echo') {
      port.postMessage(msg);
    } else if (++count % ackEvery === 0) {
      port.postMessage(count);
    }
    return;
  }
  const m = msg as { cmd: string; ackEvery?: number };
  if (m.cmd === 'echo') mode = 'echo';
  else if (m.cmd === 'count') {
    mode = 'count';
    ackEvery = m.ackEvery ?? 1024;
    count = 0;
  } else if (m.cmd === 'report') {
    port.postMessage({ total: count });
    count = 0;
  }
});
