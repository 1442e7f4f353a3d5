/**
 * The plain child_process pool of the `pool` suite (bench/pool.ts): what a Node.js program writes without a pool
 * library — N children started with fork() and serialization 'json' (bench/baselines/pool-hash-child.ts), each
 * request a message `{ i, d }` with the payload as base64, sent to the child with the fewest requests outstanding
 * (the first of them on a tie), answered by `{ i, h }` with the digest as base64.
 *
 * Main JavaScript thread only. A child that exits or fails rejects every request it holds and every later one with
 * an Error naming it; close() disconnects every child and waits for it to exit.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./pool-hash-child.js', import.meta.url));

interface Pending {
  resolve(digest: Uint8Array): void;
  reject(error: Error): void;
}

interface Child {
  process: ChildProcess;
  outstanding: number;
  pending: Map<number, Pending>;
  failure: Error | undefined;
}

export class ChildPool {
  private nextId = 1;

  private constructor(private readonly children: Child[]) {}

  /** Forks `size` children hashing at `rounds` rounds; resolves when every one has spawned. */
  static async start(size: number, rounds: number): Promise<ChildPool> {
    const children: Child[] = [];
    for (let n = 0; n < size; n++) {
      const proc = fork(CHILD, [String(rounds)], { serialization: 'json', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      const child: Child = { process: proc, outstanding: 0, pending: new Map(), failure: undefined };
      const fail = (error: Error): void => {
        child.failure ??= error;
        for (const p of child.pending.values()) p.reject(child.failure);
        child.pending.clear();
        child.outstanding = 0;
      };
      proc.on('message', (m: { i: number; h: string }) => {
        const p = child.pending.get(m.i);
        if (p === undefined) return;
        child.pending.delete(m.i);
        child.outstanding--;
        p.resolve(Buffer.from(m.h, 'base64'));
      });
      proc.once('error', (e) => fail(new Error(`Child ${n} (pid ${proc.pid ?? '?'}) of the child_process pool failed: ${e.message}.`)));
      proc.once('exit', (code, signal) => fail(new Error(`Child ${n} (pid ${proc.pid ?? '?'}) of the child_process pool exited (code ${code}, signal ${signal}).`)));
      children.push(child);
      await once(proc, 'spawn');
    }
    return new ChildPool(children);
  }

  /** Process ids of the children, in order. */
  get pids(): number[] {
    return this.children.map((c) => c.process.pid ?? -1);
  }

  /** The digest of `data` from the least-busy child. */
  request(data: Uint8Array): Promise<Uint8Array> {
    let best = this.children[0]!;
    for (const c of this.children) if (c.outstanding < best.outstanding) best = c;
    if (best.failure !== undefined) return Promise.reject(best.failure);
    const i = this.nextId++;
    const d = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    return new Promise<Uint8Array>((resolve, reject) => {
      best.pending.set(i, { resolve, reject });
      best.outstanding++;
      best.process.send({ i, d });
    });
  }

  /** Disconnects every child and waits until each has exited. */
  async close(): Promise<void> {
    await Promise.all(
      this.children.map(async (c) => {
        if (c.process.exitCode !== null || c.process.signalCode !== null) return;
        const exited = once(c.process, 'exit');
        if (c.process.connected) c.process.disconnect();
        else c.process.kill();
        await exited;
      }),
    );
  }
}
