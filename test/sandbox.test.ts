/**
 * The sandbox of process mode (docs/security.md). A hostile plugin (native/test/plugins/spy.c) makes each attempt an
 * attacker would make from inside a sidecar process; under the default profile every one fails and the sidecar keeps
 * serving; with a knob widened, the same attempt succeeds exactly where the knob allows. Each refusal is also shown
 * to succeed with `sandbox: false`, so a test here cannot pass because the attempt never worked at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SharedRegion, Sidecar, type SidecarExit, type SidecarOptions } from '../src/index.js';
import { nativeExecutable, nativeLibrary } from '../src/sidecar/paths.js';
import { PARKER_POOL_SLACK, resourceCounts, testPlugin } from './helpers/sidecar-env.js';

const { EACCES, ENOENT, ENOMEM, EPERM } = constants.errno;
const READ = 1;
const WRITE = 2;
const PTRACE = 3;
const CONNECT = 4;
const GETENV = 5;
const ALLOC = 6;
const ALLOC_CARELESS = 7;
const VM_READ = 8;
const KILL = 9;
const PROC_FDS = 10;
const BURN = 11;
const SPAWN = 12;
const RENICE = 13;
const FD_LIST = 14;
const THREAD = 15;
const FORK = 16;

const PROJECT = resolve(fileURLToPath(import.meta.url), '../../..');
const HOST = String(process.pid);

interface Attempt {
  errno: number;
  data: Buffer;
}

async function attempt(sidecar: Sidecar, type: number, arg: string): Promise<Attempt> {
  const reply = Buffer.from(await sidecar.request(new TextEncoder().encode(arg), { type, timeout: 10_000 }));
  return { errno: reply.readInt32LE(0), data: reply.subarray(4) };
}

async function withSpy<T>(options: Partial<SidecarOptions>, body: (sidecar: Sidecar) => Promise<T>): Promise<T> {
  const sidecar = await Sidecar.start({ plugin: testPlugin('spy'), mode: 'process', ...options });
  try {
    return await body(sidecar);
  } finally {
    await sidecar.stop();
  }
}

function listen(): Promise<Server> {
  return new Promise((resolveServer) => {
    const server = createServer((socket) => socket.destroy());
    server.listen(0, '127.0.0.1', () => resolveServer(server));
  });
}

function fdList(a: Attempt): number[] {
  const count = a.data.readUInt32LE(0);
  return Array.from({ length: count }, (_, i) => a.data.readUInt32LE(4 + 4 * i));
}

test('a process-mode sidecar is confined by default, and sidecar.sandbox says which layers are in force', async () => {
  await withSpy({}, async (sidecar) => {
    const report = sidecar.sandbox;
    assert.ok(report !== null);
    // Required layers: the start would have failed without them.
    assert.equal(report.layers.descriptorsClosed, true);
    assert.equal(report.layers.noNewPrivileges, true);
    assert.equal(report.layers.landlockFilesystem, true);
    assert.equal(report.layers.seccomp, true);
    assert.equal(report.layers.resourceLimits, true, 'the default profile limits open files');
    assert.ok(report.landlockAbi >= 1);
    assert.equal(report.layers.landlockScopes, report.landlockAbi >= 6);
    assert.equal(report.layers.landlockNetwork, report.landlockAbi >= 4);
    assert.deepEqual(report.env, []);
  });
});

test('thread mode has no sandbox: the option is refused with a sentence, and sidecar.sandbox is null', async () => {
  await assert.rejects(Sidecar.start({ plugin: testPlugin('spy'), sandbox: {} }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ERR_INVALID_ARG');
    assert.match(e.message, /needs mode 'process'/);
    return true;
  });
  const sidecar = await Sidecar.start({ plugin: testPlugin('spy') });
  assert.equal(sidecar.sandbox, null);
  await sidecar.stop();
});

test('the spy cannot open /proc/<host>/mem, /proc/<host>/environ or any /proc/<host>/fd/N, and keeps serving', async () => {
  await using other = await Sidecar.start({ plugin: testPlugin('spy'), mode: 'process' }); // a second region in our fds
  await withSpy({}, async (sidecar) => {
    for (const file of ['mem', 'environ', 'maps', 'cmdline']) {
      const a = await attempt(sidecar, READ, `/proc/${HOST}/${file}`);
      assert.notEqual(a.errno, 0, `/proc/${HOST}/${file} must not open`);
    }
    const fds = await attempt(sidecar, PROC_FDS, HOST);
    assert.equal(fds.data.readUInt32LE(0), 0, 'no descriptor of the host — so no region of another sidecar — opens');
    assert.notEqual(fds.errno, ENOENT, 'the fds exist; they are refused');
    assert.equal((await attempt(sidecar, GETENV, 'PATH')).errno, ENOENT, 'it still answers');
  });
  assert.ok(other.pid > 0);
  // Without the sandbox, the same plugin reads the host's memory map and opens the host's descriptors.
  await withSpy({ sandbox: false }, async (sidecar) => {
    assert.equal((await attempt(sidecar, READ, `/proc/${HOST}/maps`)).errno, 0);
    assert.ok((await attempt(sidecar, PROC_FDS, HOST)).data.readUInt32LE(0) > 3);
  });
});

test('the spy cannot ptrace, process_vm_readv, signal or renice the host', async () => {
  await withSpy({}, async (sidecar) => {
    assert.equal((await attempt(sidecar, PTRACE, HOST)).errno, EPERM);
    assert.equal((await attempt(sidecar, VM_READ, HOST)).errno, EPERM);
    assert.equal((await attempt(sidecar, KILL, HOST)).errno, EPERM);
    assert.equal((await attempt(sidecar, KILL, '0')).errno, EPERM, 'nor its process group');
    assert.equal((await attempt(sidecar, RENICE, HOST)).errno, EPERM);
    assert.equal((await attempt(sidecar, KILL, String(sidecar.pid))).errno, 0, 'it may signal itself');
  });
  await withSpy({ sandbox: false }, async (sidecar) => {
    assert.equal((await attempt(sidecar, KILL, HOST)).errno, 0, 'unconfined, the same uid may signal the host');
    assert.notEqual((await attempt(sidecar, VM_READ, HOST)).errno, EPERM);
  });
});

test('the spy cannot read the project source, write anywhere, run a program or connect to 127.0.0.1', async () => {
  const server = await listen();
  const port = String((server.address() as { port: number }).port);
  const scratch = mkdtempSync(join(tmpdir(), 'ns-sandbox-'));
  const named = SharedRegion.create({ size: 4096, name: true });
  try {
    await withSpy({}, async (sidecar) => {
      assert.equal((await attempt(sidecar, READ, join(PROJECT, 'package.json'))).errno, EACCES);
      assert.equal((await attempt(sidecar, WRITE, join(scratch, 'x'))).errno, EACCES);
      assert.equal((await attempt(sidecar, WRITE, '/dev/shm/ns-spy')).errno, EACCES);
      assert.equal((await attempt(sidecar, READ, `/dev/shm${named.name!}`)).errno, EACCES, 'a named region of this user stays closed');
      assert.notEqual((await attempt(sidecar, SPAWN, '/bin/true')).errno, 0);
      assert.equal((await attempt(sidecar, FORK, '')).errno, EPERM, 'nor start a process that would outlive the sidecar');
      assert.equal((await attempt(sidecar, THREAD, '')).errno, 0, 'threads are allowed');
      assert.equal((await attempt(sidecar, CONNECT, port)).errno, EACCES);
    });
    await withSpy({ sandbox: false }, async (sidecar) => {
      assert.equal((await attempt(sidecar, READ, join(PROJECT, 'package.json'))).errno, 0);
      assert.equal((await attempt(sidecar, CONNECT, port)).errno, 0);
      assert.equal((await attempt(sidecar, SPAWN, '/bin/true')).errno, 0);
      assert.equal((await attempt(sidecar, FORK, '')).errno, 0);
      assert.equal((await attempt(sidecar, READ, `/dev/shm${named.name!}`)).errno, 0);
    });
  } finally {
    named.unlink(); // the creator removes the name: a name left in /dev/shm fails region.test.ts of the next run
    named.close();
    server.close();
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('widened knobs allow exactly what they list: readPaths, writePaths, network, env', async () => {
  const server = await listen();
  const port = String((server.address() as { port: number }).port);
  const scratch = mkdtempSync(join(tmpdir(), 'ns-sandbox-'));
  const readable = join(scratch, 'readable.txt');
  const other = join(scratch, 'other.txt');
  writeFileSync(readable, 'allowed bytes');
  writeFileSync(other, 'not listed');
  const writable = mkdtempSync(join(tmpdir(), 'ns-sandbox-w-'));
  process.env.NS_SANDBOX_TEST_SECRET = 'hunter2';
  process.env.NS_SANDBOX_TEST_PASSED = 'yes';
  try {
    await withSpy(
      { sandbox: { readPaths: [readable], writePaths: [writable], network: true, env: ['NS_SANDBOX_TEST_PASSED'] } },
      async (sidecar) => {
        const r = await attempt(sidecar, READ, readable);
        assert.equal(r.errno, 0);
        assert.equal(r.data.toString(), 'allowed bytes');
        assert.equal((await attempt(sidecar, READ, other)).errno, EACCES, 'a file beside the listed one stays closed');
        assert.equal((await attempt(sidecar, WRITE, readable)).errno, EACCES, 'read-only means read-only');
        assert.equal((await attempt(sidecar, WRITE, join(writable, 'out.txt'))).errno, 0);
        assert.equal(readFileSync(join(writable, 'out.txt'), 'utf8'), 'spy');
        assert.equal((await attempt(sidecar, CONNECT, port)).errno, 0);
        const passed = await attempt(sidecar, GETENV, 'NS_SANDBOX_TEST_PASSED');
        assert.equal(passed.errno, 0);
        assert.equal(passed.data.toString(), 'yes');
        assert.equal((await attempt(sidecar, GETENV, 'NS_SANDBOX_TEST_SECRET')).errno, ENOENT);
        assert.deepEqual(sidecar.sandbox?.env, ['NS_SANDBOX_TEST_PASSED']);
        assert.equal(sidecar.sandbox?.layers.networkNamespace, false);
      },
    );
    await withSpy({ sandbox: { env: { ONLY: 'this' } } }, async (sidecar) => {
      assert.equal((await attempt(sidecar, GETENV, 'ONLY')).data.toString(), 'this');
      assert.equal((await attempt(sidecar, GETENV, 'NS_SANDBOX_TEST_SECRET')).errno, ENOENT);
      assert.equal((await attempt(sidecar, GETENV, 'PATH')).errno, ENOENT);
    });
    await withSpy({ sandbox: false }, async (sidecar) => {
      assert.equal((await attempt(sidecar, GETENV, 'NS_SANDBOX_TEST_SECRET')).data.toString(), 'hunter2', 'unconfined, it inherits everything');
    });
  } finally {
    delete process.env.NS_SANDBOX_TEST_SECRET;
    delete process.env.NS_SANDBOX_TEST_PASSED;
    server.close();
    rmSync(scratch, { recursive: true, force: true });
    rmSync(writable, { recursive: true, force: true });
  }
});

test('only stdio, the wake fd and the plugin fd reach the plugin, even when the host inherited more', () => {
  // A shell opens fd 251 without close-on-exec and runs a Node process that starts the spy: the fd is inherited by
  // Node, by the sidecar process — and must be closed before the plugin loads.
  const child = join(PROJECT, '.out/test/helpers/sandbox-child.js');
  const run = (options: object): { report: unknown; results: { errno: number; data: string }[] } => {
    const r = spawnSync('/bin/bash', ['-c', 'exec 251</dev/null; exec "$0" "$@"', process.execPath, child, JSON.stringify(options), JSON.stringify([[FD_LIST, '']])], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { report: unknown; results: { errno: number; data: string }[] };
  };
  const confined = fdList({ errno: 0, data: Buffer.from(run({}).results[0]!.data, 'base64') });
  assert.deepEqual(confined, [0, 1, 2, 4, 5], 'stdio, the wake eventfd (4), the plugin file (5); the region fd was closed after mapping');
  const open = fdList({ errno: 0, data: Buffer.from(run({ sandbox: false }).results[0]!.data, 'base64') });
  assert.ok(open.includes(251), `unconfined, the stray fd 251 reaches the plugin (saw ${open.join(', ')})`);
});

test('a memory limit: malloc fails inside the limit, and a plugin that crashes on it exits with reason resource-limit', async () => {
  const limits = { memoryBytes: 512 << 20 };
  await withSpy({ sandbox: { limits } }, async (sidecar) => {
    assert.equal((await attempt(sidecar, ALLOC, String(64 << 20))).errno, 0, '64 MiB fit');
    assert.equal((await attempt(sidecar, ALLOC, String(1024 << 20))).errno, ENOMEM, '1 GiB does not, and the plugin says so');
    assert.equal((await attempt(sidecar, GETENV, 'PATH')).errno, ENOENT, 'and keeps serving');
  });
  const sidecar = await Sidecar.start({ plugin: testPlugin('spy'), mode: 'process', sandbox: { limits } });
  const exited = new Promise<SidecarExit>((r) => sidecar.once('exit', r));
  await assert.rejects(attempt(sidecar, ALLOC_CARELESS, String(1024 << 20)), { code: 'ERR_SIDECAR_CRASHED' });
  const exit = await exited;
  assert.equal(exit.reason, 'resource-limit');
  assert.equal(exit.code, 64 + 11);
  assert.match(exit.message ?? '', /resource limit/);
  await sidecar.stop();
});

test('a CPU limit ends a plugin that spins past it with reason resource-limit', async () => {
  const sidecar = await Sidecar.start({ plugin: testPlugin('spy'), mode: 'process', sandbox: { limits: { cpuSeconds: 1 } } });
  const exited = new Promise<SidecarExit>((r) => sidecar.once('exit', r));
  await assert.rejects(attempt(sidecar, BURN, ''), { code: 'ERR_SIDECAR_CRASHED' });
  assert.equal((await exited).reason, 'resource-limit');
  await sidecar.stop();
});

test('a crash that is not a limit keeps its signal when a memory limit is set', async () => {
  const sidecar = await Sidecar.start({ plugin: testPlugin('faulty'), mode: 'process', sandbox: { limits: { memoryBytes: 512 << 20 } } });
  try {
    const exited = new Promise<SidecarExit>((r) => sidecar.once('exit', r));
    await assert.rejects(sidecar.request(new Uint8Array(1), { type: 1 }), { code: 'ERR_SIDECAR_CRASHED' });
    const exit = await exited;
    assert.equal(exit.reason, 'crashed');
    assert.equal(exit.signal, 'SIGSEGV');
  } finally {
    await sidecar.stop();
  }
});

test('the plugin file is opened once: a file swapped in under its name after start() is not what a restart loads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ns-plugin-'));
  const path = join(dir, 'plugin.so');
  copyFileSync(testPlugin('faulty'), path);
  try {
    const sidecar = await Sidecar.start({ plugin: path, mode: 'process', restart: { backoffMs: 0 } });
    const restarted = new Promise<void>((r) => sidecar.on('exit', (e: SidecarExit) => e.restarting && r()));
    // The attacker's version replaces the file (rename over it, as an installer would), then the sidecar dies.
    copyFileSync(testPlugin('spy'), `${path}.new`);
    renameSync(`${path}.new`, path);
    process.kill(sidecar.pid, 'SIGKILL');
    await restarted;
    const reply = Buffer.from(await sidecar.request(new TextEncoder().encode('same code'), { type: 99 }));
    assert.equal(reply.toString(), 'same code', 'the faulty plugin echoes; the spy would have answered EINVAL');
    await sidecar.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a plugin file others could replace is refused with ERR_PLUGIN_UNSAFE unless trustPluginFile is set', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ns-plugin-'));
  const path = join(dir, 'plugin.so');
  copyFileSync(testPlugin('spy'), path);
  const fdsBefore = resourceCounts().fds;
  try {
    for (const mode of ['thread', 'process'] as const) {
      chmodSync(path, 0o666);
      await assert.rejects(Sidecar.start({ plugin: path, mode }), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_PLUGIN_UNSAFE');
        assert.match(e.message, /writable by its group or by everyone \(mode 0666\)/);
        return true;
      });
      const trusted = await Sidecar.start({ plugin: path, mode, trustPluginFile: true });
      await trusted.stop();
      chmodSync(path, 0o755);
      chmodSync(dir, 0o777); // a directory anyone may rename files in (not sticky)
      await assert.rejects(Sidecar.start({ plugin: path, mode }), { code: 'ERR_PLUGIN_UNSAFE' });
      chmodSync(dir, 0o1777); // sticky, like /tmp: only the owner renames
      const sticky = await Sidecar.start({ plugin: path, mode });
      await sticky.stop();
      chmodSync(dir, 0o700);
    }
    assert.equal(resourceCounts().fds, fdsBefore, 'a refused plugin file is closed again');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad sandbox options are ERR_INVALID_ARG naming the option, and nothing is left behind', async () => {
  const spy = testPlugin('spy');
  const cases: [unknown, RegExp][] = [
    ['yes', /'options\.sandbox'/],
    [{ readPaths: 'x' }, /'options\.sandbox\.readPaths'/],
    [{ readPaths: ['/no/such/path'] }, /'options\.sandbox\.readPaths\[0\]'/],
    [{ writePaths: [''] }, /'options\.sandbox\.writePaths\[0\]'/],
    [{ env: ['BAD NAME'] }, /'options\.sandbox\.env\[0\]'/],
    [{ env: { A: 1 } }, /'options\.sandbox\.env\.A'/],
    [{ network: 'no' }, /'options\.sandbox\.network'/],
    [{ limits: { memoryBytes: 1024 } }, /'options\.sandbox\.limits\.memoryBytes'/],
    [{ limits: { openFiles: 3 } }, /'options\.sandbox\.limits\.openFiles'/],
    [{ bestEffort: 1 }, /'options\.sandbox\.bestEffort'/],
  ];
  const before = resourceCounts();
  for (const [sandbox, name] of cases) {
    await assert.rejects(Sidecar.start({ plugin: spy, mode: 'process', sandbox: sandbox as never }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_INVALID_ARG');
      assert.match(e.message, name);
      return true;
    });
  }
  const after = resourceCounts();
  assert.equal(after.fds, before.fds, 'no descriptor (plugin file, region, eventfd) stays open');
  assert.equal(after.memfdMappings, before.memfdMappings, 'no region stays mapped');
  assert.ok(after.threads <= before.threads + PARKER_POOL_SLACK, 'no thread stays behind');
});

test('without Landlock the start fails with ERR_SANDBOX_UNAVAILABLE, and bestEffort starts it and says what is missing', () => {
  const child = join(PROJECT, '.out/test/helpers/sandbox-child.js');
  const deny = nativeExecutable('deny_syscalls');
  const run = (set: string, options: object): { error?: { code: string; message: string }; report?: { layers: Record<string, boolean> }; results?: { errno: number }[] } => {
    const r = spawnSync(deny, [set, process.execPath, child, JSON.stringify(options), JSON.stringify([[READ, join(PROJECT, 'package.json')]])], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as ReturnType<typeof run>;
  };
  const refused = run('landlock', {});
  assert.equal(refused.error?.code, 'ERR_SANDBOX_UNAVAILABLE');
  assert.match(refused.error?.message ?? '', /Landlock is not available on this kernel \(Function not implemented\)/, 'with the kernel\'s answer (ENOSYS)');
  const partial = run('landlock', { sandbox: { bestEffort: true } });
  assert.equal(partial.report?.layers.landlockFilesystem, false);
  assert.equal(partial.report?.layers.seccomp, true);
  assert.equal(partial.results?.[0]?.errno, 0, 'without Landlock the file is readable: bestEffort means exactly that');
  const noSeccomp = run('seccomp', {});
  assert.equal(noSeccomp.error?.code, 'ERR_SANDBOX_UNAVAILABLE');
  assert.match(noSeccomp.error?.message ?? '', /seccomp/);
  const noUserns = run('userns', {});
  assert.equal(noUserns.report?.layers.userNamespace, false, 'namespaces are best effort');
  assert.equal(noUserns.report?.layers.landlockFilesystem, true);
  assert.equal(noUserns.results?.[0]?.errno, EACCES, 'and the rest of the sandbox still holds');
});

test('a plugin whose own library lies outside the system directories loads once LD_LIBRARY_PATH and readPaths name it, and the error says so', async () => {
  // NEEDED ns_test_dep.so, RUNPATH $ORIGIN. Loaded through /proc/self/fd/N (the checked file), $ORIGIN means
  // /proc/self/fd, so the dependency must come from LD_LIBRARY_PATH — readable under the sandbox only if listed.
  const plugin = testPlugin('needs_dep');
  const dir = dirname(nativeLibrary('ns_test_dep'));
  await assert.rejects(Sidecar.start({ plugin, mode: 'process' }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ERR_SIDECAR_START');
    assert.match(e.message, new RegExp(`^The plugin '${plugin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' could not be loaded: ns_test_dep\\.so`), 'the message names the caller\'s path and the missing library');
    assert.match(e.message, /LD_LIBRARY_PATH/);
    return true;
  });
  await assert.rejects(Sidecar.start({ plugin, mode: 'process', sandbox: { env: { LD_LIBRARY_PATH: dir } } }), { code: 'ERR_SIDECAR_START' }, 'the path alone is not readable');
  await using sidecar = await Sidecar.start({ plugin, mode: 'process', sandbox: { env: { LD_LIBRARY_PATH: dir }, readPaths: [nativeLibrary('ns_test_dep')] } });
  assert.deepEqual([...(await sidecar.request(new Uint8Array(1)))], [42]);
});
