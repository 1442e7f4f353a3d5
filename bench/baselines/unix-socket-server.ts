/**
 * Worker side of the Unix domain socket baseline: an echo server on the socket path given in workerData, on its own
 * thread and event loop. Posts 'listening' once it accepts connections; closes (and so unlinks the path) on 'close'.
 */
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

if (!parentPort) throw new Error('unix-socket-server.js must run as a worker thread.');
const port = parentPort;
const server = net.createServer((socket) => {
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => socket.destroy());
});
server.listen((workerData as { path: string }).path, () => port.postMessage('listening'));
port.on('message', (m) => {
  if (m === 'close') server.close(() => port.close());
});
