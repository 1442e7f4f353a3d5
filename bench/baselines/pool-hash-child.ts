/**
 * A child process of the `pool` suite's child_process baseline (bench/baselines/child-pool.ts), started with fork()
 * and serialization 'json': every IPC message `{ i, d }` (an id and the payload as base64) is answered with
 * `{ i, h }`, the iterated SHA-256 digest (bench/baselines/pool-hash.ts) as base64, at the round count of argv[2].
 * One message at a time, on this process's only JavaScript thread; exits when the channel closes.
 */
import { iteratedDigest } from './pool-hash.js';

const send = process.send?.bind(process);
if (send === undefined) throw new Error('pool-hash-child.js must be started with an IPC channel (child_process.fork).');
const rounds = Number(process.argv[2]);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`pool-hash-child.js needs the round count as its first argument; received '${process.argv[2] ?? ''}'.`);

process.on('message', (m: { i: number; d: string }) => {
  const digest = iteratedDigest(Buffer.from(m.d, 'base64'), rounds);
  send({ i: m.i, h: digest.toString('base64') });
});
process.on('disconnect', () => process.exit(0));
