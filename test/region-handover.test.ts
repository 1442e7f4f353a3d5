import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SharedRegion, type RegionPeer, type RegionError } from '../src/index.js';
import { nativeExecutable } from '../src/sidecar/paths.js';
import { runNode } from './helpers/run-node.js';

const INDEX_URL = new URL('../src/index.js', import.meta.url).href;

const CLIENT = fileURLToPath(new URL('./helpers/handover-client.js', import.meta.url));
const SERVER = fileURLToPath(new URL('./helpers/handover-server.js', import.meta.url));
const FLOOD = fileURLToPath(new URL('./helpers/handover-flood.js', import.meta.url));
const C_PEER = nativeExecutable('region_handover_peer');
const SIZE = 64 * 1024;
const NOBODY = 65534;

/** Descriptors open in this process, as "fd -> target". */
function openFds(): string[] {
  const fds: string[] = [];
  for (const entry of readdirSync('/proc/self/fd')) {
    try {
      fds.push(`${entry} -> ${readlinkSync(`/proc/self/fd/${entry}`)}`);
    } catch {
      // the fd of readdir itself is gone by now
    }
  }
  return fds.sort();
}

/** Asserts that no descriptor is open now that was not open in `before` (others, such as an earlier child's pipes,
 * may have closed meanwhile). */
function assertNoNewFds(before: string[], what: string): void {
  const now = new Set(before);
  assert.deepEqual(openFds().filter((fd) => !now.has(fd)), [], what);
}

/** A fresh directory for socket files; mode 0711 so a process of another uid can reach a socket inside it. */
function socketDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ns-handover-'));
  chmodSync(dir, 0o711);
  return dir;
}

function run(command: string, args: string[]): { child: ChildProcess; lines: string[]; next: () => Promise<string> } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let at: number;
    while ((at = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, at));
      buffer = buffer.slice(at + 1);
    }
    if (waiting !== undefined && lines.length > 0) {
      const w = waiting;
      waiting = undefined;
      w(lines.shift()!);
    }
  });
  const next = (): Promise<string> =>
    lines.length > 0
      ? Promise.resolve(lines.shift()!)
      : new Promise<string>((resolve, reject) => {
          waiting = resolve;
          // 'close', not 'exit': a process's exit may be reported before the last of its output is read.
          child.once('close', (code, signal) => {
            if (waiting === resolve) reject(new Error(`${command} exited (${code ?? signal}) before printing`));
          });
        });
  return { child, lines, next };
}

/** SIGKILLs every child still running (also a stopped one) and waits until each has exited. */
async function killAll(children: ChildProcess[]): Promise<void> {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(children.map(exited));
}

function exited(child: ChildProcess): Promise<[number | null, string | null]> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve([child.exitCode, child.signalCode]);
  return new Promise((resolve) => child.once('exit', (c, s) => resolve([c, s])));
}

function peers(): { list: RegionPeer[]; onPeer: (p: RegionPeer) => void; settled: () => Promise<void> } {
  const list: RegionPeer[] = [];
  let wake: (() => void) | undefined;
  return {
    list,
    onPeer: (p) => {
      list.push(p);
      wake?.();
    },
    settled: () => (list.length > 0 ? Promise.resolve() : new Promise<void>((resolve) => (wake = resolve))),
  };
}

describe('region handover over a Unix socket (docs/wire-format.md §1.2)', () => {
  test('a client in another process receives the served region and shares its memory both ways', async () => {
    const dir = socketDir();
    try {
      using region = SharedRegion.create({ size: SIZE });
      const bytes = new Uint8Array(region.buffer);
      bytes[5000] = 7;
      const seen = peers();
      using server = region.serve(join(dir, 'sock'), { onPeer: seen.onPeer });
      const client = run(process.execPath, [CLIENT, server.path, 'once']);
      assert.deepEqual(JSON.parse(await client.next()), { seen: 7 });
      assert.deepEqual(await exited(client.child), [0, null]);
      assert.equal(bytes[5001], 8);
      await seen.settled();
      assert.equal(seen.list[0]!.uid, process.getuid!());
      assert.equal(seen.list[0]!.pid, client.child.pid);
      assert.equal(seen.list[0]!.sent, true);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('connect() maps a sealed memfd sent by a C server using region.h', async () => {
    const dir = socketDir();
    try {
      const path = join(dir, 'sock');
      const server = run(C_PEER, ['serve', path]);
      assert.equal(await server.next(), 'ready');
      using region = await SharedRegion.connect(path);
      assert.equal(region.size, SIZE);
      assert.equal(new Uint8Array(region.buffer)[4096], 0x5a);
      assert.equal(await server.next(), 'sent');
      assert.deepEqual(await exited(server.child), [0, null]);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('a C client using region.h receives and maps the region a TypeScript server serves', async () => {
    const dir = socketDir();
    try {
      using region = SharedRegion.create({ size: SIZE });
      new Uint8Array(region.buffer)[4096] = 99;
      using server = region.serve(join(dir, 'sock'));
      const client = run(C_PEER, ['receive', server.path]);
      assert.equal(await client.next(), 'mapped 99');
      assert.deepEqual(await exited(client.child), [0, null]);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('a client running as another uid gets no descriptor, unless allowUids lists it', async (t) => {
    if (process.getuid!() !== 0) return t.skip('needs root to run the C client as another uid');
    const dir = socketDir();
    try {
      using region = SharedRegion.create({ size: SIZE });
      const seen = peers();
      const refusedServer = region.serve(join(dir, 'a'), { onPeer: seen.onPeer });
      chmodSync(refusedServer.path, 0o777);
      const refused = run(C_PEER, ['receive', refusedServer.path, '--setuid', String(NOBODY)]);
      assert.match(await refused.next(), /^refused the region was not sent: the peer closed the connection/);
      await seen.settled();
      assert.deepEqual({ ...seen.list[0]! }, { uid: NOBODY, pid: refused.child.pid, sent: false, reason: `uid ${NOBODY} is not allowed` });
      refusedServer.close();

      using allowing = region.serve(join(dir, 'b'), { allowUids: [process.getuid!(), NOBODY] });
      chmodSync(allowing.path, 0o777);
      const allowed = run(C_PEER, ['receive', allowing.path, '--setuid', String(NOBODY)]);
      assert.match(await allowed.next(), /^mapped /);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('connect() refuses a server running as another uid before reading, unless allowUids lists it', async (t) => {
    if (process.getuid!() !== 0) return t.skip('needs root to run the C server as another uid');
    const dir = socketDir();
    chmodSync(dir, 0o777); // the server, running as nobody, creates its socket file here
    try {
      const path = join(dir, 'sock');
      const server = run(C_PEER, ['serve', path, '--setuid', String(NOBODY), '--allow-any']);
      assert.equal(await server.next(), 'ready');
      await assert.rejects(SharedRegion.connect(path), (e: unknown) => {
        assert.equal((e as RegionError).code, 'ERR_PEER_REFUSED');
        assert.match((e as Error).message, new RegExp(`runs as uid ${NOBODY}.*not allowed`));
        return true;
      });
      await exited(server.child); // the C server serves one client: the refused connection
      const again = run(C_PEER, ['serve', path, '--setuid', String(NOBODY), '--allow-any']);
      assert.equal(await again.next(), 'ready');
      using region = await SharedRegion.connect(path, { allowUids: [NOBODY] });
      assert.equal(new Uint8Array(region.buffer)[4096], 0x5a);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('kill -9 of the server or of a client leaves /dev/shm unchanged, and the stale socket path is reused', async () => {
    const dir = socketDir();
    const shmBefore = readdirSync('/dev/shm').sort();
    try {
      const path = join(dir, 'sock');
      const server = run(process.execPath, [SERVER, path]);
      assert.equal(await server.next(), 'ready');
      const client = run(process.execPath, [CLIENT, path, 'hold']);
      assert.deepEqual(JSON.parse(await client.next()), { seen: 42 });
      client.child.kill('SIGKILL');
      assert.deepEqual(await exited(client.child), [null, 'SIGKILL']);
      const second = run(process.execPath, [CLIENT, path, 'once']); // the server survives a killed client
      assert.deepEqual(JSON.parse(await second.next()), { seen: 42 });
      server.child.kill('SIGKILL');
      assert.deepEqual(await exited(server.child), [null, 'SIGKILL']);
      assert.deepEqual(readdirSync('/dev/shm').sort(), shmBefore, 'memfds have no name: nothing is left in /dev/shm');
      assert.equal(existsSync(path), true, 'kill -9 leaves the socket file (documented)');
      await assert.rejects(SharedRegion.connect(path), { code: 'ERR_SYSTEM', syscall: 'connect' }); // ECONNREFUSED
      using region = SharedRegion.create({ size: SIZE });
      using server2 = region.serve(path); // nobody listens on the stale file: serve() replaces it
      const third = run(process.execPath, [CLIENT, path, 'once']);
      assert.deepEqual(JSON.parse(await third.next()), { seen: 0 });
      server2.close();
      assert.equal(existsSync(path), false, 'close() removes the socket file');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('connect() to a server that never sends rejects with ERR_TIMEOUT after timeoutMs and leaves no descriptor or socket open', async () => {
    const dir = socketDir();
    const cleanup: ChildProcess[] = [];
    try {
      const path = join(dir, 'sock');
      const server = run(C_PEER, ['serve', path, '--silent', '--clients', '0']);
      cleanup.push(server.child);
      assert.equal(await server.next(), 'ready');
      await assert.rejects(SharedRegion.connect(join(dir, 'nobody')), { code: 'ERR_SYSTEM' }); // warms up the pool
      const before = openFds();
      const started = performance.now();
      await assert.rejects(SharedRegion.connect(path, { timeoutMs: 200 }), (e: unknown) => {
        assert.equal((e as RegionError).code, 'ERR_TIMEOUT', String(e));
        assert.match((e as Error).message, /sent no region within 200 ms/);
        return true;
      });
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 199 && elapsed < 2000, `settled after ${elapsed} ms`);
      assert.equal(await server.next(), 'eof', 'the client closed its socket: the server read end of file');
      assertNoNewFds(before, 'the timed-out connect() left no descriptor open');
    } finally {
      await killAll(cleanup);
      rmSync(dir, { recursive: true });
    }
  });

  test('a handover message with no descriptor or with more than one is refused with ERR_PEER_REFUSED, and every descriptor it carried is closed', async () => {
    const dir = socketDir();
    const cleanup: ChildProcess[] = [];
    try {
      await assert.rejects(SharedRegion.connect(join(dir, 'nobody')), { code: 'ERR_SYSTEM' }); // warms up the pool
      for (const count of [0, 2, 3, 8]) {
        const path = join(dir, `sock-${count}`);
        const server = run(C_PEER, ['serve', path, '--fds', String(count), '--clients', '0']);
        cleanup.push(server.child);
        assert.equal(await server.next(), 'ready');
        const before = openFds();
        await assert.rejects(SharedRegion.connect(path), (e: unknown) => {
          assert.equal((e as RegionError).code, 'ERR_PEER_REFUSED', `${count} descriptors: ${String(e)}`);
          assert.match((e as Error).message, count === 0 ? /without a descriptor/ : /more than one descriptor/);
          return true;
        });
        assert.equal(await server.next(), `sent ${count}`);
        assertNoNewFds(before, `${count} descriptors: none stays open in the client`);
      }
    } finally {
      await killAll(cleanup);
      rmSync(dir, { recursive: true });
    }
  });

  test('clients flooding a full listen backlog are all served, or refused with ERR_TIMEOUT within their timeout, and the server goes on', async () => {
    const dir = socketDir();
    const cleanup: ChildProcess[] = [];
    try {
      const path = join(dir, 'sock');
      const server = run(process.execPath, [SERVER, path]);
      cleanup.push(server.child);
      assert.equal(await server.next(), 'ready');
      const CLIENTS = 48; // the server's backlog is 16: most of them wait in connect()
      const flood = async (timeoutMs: number, resumeAfterMs: number | undefined) => {
        server.child.kill('SIGSTOP'); // its accept thread stops: connections pile up in the backlog, then connect() blocks
        const env = { ...process.env, UV_THREADPOOL_SIZE: String(CLIENTS) };
        const child = spawn(process.execPath, [FLOOD, path, String(CLIENTS), String(timeoutMs)], { stdio: ['ignore', 'pipe', 'inherit'], env });
        cleanup.push(child);
        let out = '';
        child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
        if (resumeAfterMs !== undefined) setTimeout(() => server.child.kill('SIGCONT'), resumeAfterMs);
        const closed = new Promise((resolve) => child.once('close', resolve));
        assert.equal(await closed, 0);
        if (resumeAfterMs === undefined) server.child.kill('SIGCONT');
        return JSON.parse(out) as { served: number; sawMarker: boolean; errors: Record<string, number>; untyped: string[]; slowestMs: number; newFds: string[] };
      };
      // Resumed well within the clients' timeout: every one of them gets the region.
      const resumed = await flood(5000, 300);
      assert.deepEqual({ served: resumed.served, sawMarker: resumed.sawMarker, errors: resumed.errors, untyped: resumed.untyped }, { served: CLIENTS, sawMarker: true, errors: {}, untyped: [] });
      assert.deepEqual(resumed.newFds, [], 'no descriptor left open in the clients');
      // Stopped for longer than their timeout: every one is refused with ERR_TIMEOUT (those in the backlog while they
      // wait for the message, the rest in connect()), none later than the timeout allows.
      const stopped = await flood(300, undefined);
      assert.deepEqual({ served: stopped.served, errors: stopped.errors, untyped: stopped.untyped }, { served: 0, errors: { ERR_TIMEOUT: CLIENTS }, untyped: [] });
      assert.ok(stopped.slowestMs < 300 + 1000, `the slowest client settled after ${stopped.slowestMs} ms of a 300 ms timeout`);
      assert.deepEqual(stopped.newFds, [], 'no descriptor left open in the clients');
      // The server accepts the dead connections left in its backlog and goes on serving.
      const after = run(process.execPath, [CLIENT, path, 'once']);
      assert.deepEqual(JSON.parse(await after.next()), { seen: 42 });
    } finally {
      await killAll(cleanup);
      rmSync(dir, { recursive: true });
    }
  });

  test('a server whose handle was dropped keeps serving after garbage collections, until it is closed or the process ends', () => {
    const dir = socketDir();
    try {
      const path = join(dir, 'sock');
      // A child with --expose-gc: serve() as a bare statement, several full collections, then a client. Before the fix
      // the collected native server stopped and unlinked its socket (connect: ENOENT), which made the kill -9 test flaky.
      const r = runNode(
        `import { SharedRegion } from ${JSON.stringify(INDEX_URL)};
         const region = SharedRegion.create({ size: 64 * 1024 });
         new Uint8Array(region.buffer)[5000] = 42;
         (() => { region.serve(${JSON.stringify(path)}); })();
         for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((resolve) => setImmediate(resolve)); }
         const client = await SharedRegion.connect(${JSON.stringify(path)});
         console.log(new Uint8Array(client.buffer)[5000]);
         process.exit(0);`,
        ['--expose-gc'],
      );
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), '42');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('serve() refuses a path somebody listens on, and a named region; arguments are checked', async () => {
    const dir = socketDir();
    try {
      using region = SharedRegion.create({ size: SIZE });
      using server = region.serve(join(dir, 'sock'));
      assert.throws(() => region.serve(server.path), { code: 'ERR_SYSTEM', syscall: 'bind' });
      using named = SharedRegion.create({ size: SIZE, name: true });
      try {
        assert.throws(() => named.serve(join(dir, 'named')), { code: 'ERR_INVALID_STATE' });
      } finally {
        named.unlink();
      }
      assert.throws(() => region.serve(join(dir, 'x'), { allowUids: [] }), /'options.allowUids'/);
      assert.throws(() => region.serve('x'.repeat(200)), /'path'/);
      await assert.rejects(SharedRegion.connect(server.path, { timeoutMs: 0 }), /'options.timeoutMs'/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
