import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Sidecar, examplePluginPath } from '../src/index.js';
import { testPlugin } from './helpers/sidecar-env.js';
import { readProcess, regionDescriptors, type SidecarStats } from '../src/cli/stat-reader.js';
import { STAT_EXIT_NO_PROCESS, STAT_EXIT_NO_SIDECARS, STAT_EXIT_PERMISSION, type StatReport } from '../src/cli/stat.js';
import { REGION_HEADER_SIZE, REGION_SEGMENTS_OFFSET, REGION_SEGMENT_COUNT_OFFSET, SEGMENT_ENTRY_SIZE, SEGMENT_KIND_SIDECAR_CONTROL } from '../src/region/layout.js';
import { RING_CAPACITY_OFFSET, RING_HEAD_OFFSET } from '../src/ring/layout.js';
import { CONTROL_COMMAND_SEGMENT_OFFSET, CONTROL_VERSION_OFFSET } from '../src/sidecar/layout.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const CHILD = fileURLToPath(new URL('./helpers/stat-child.js', import.meta.url));

interface Tally {
  sent: number;
  answered: number;
  held: number;
  pid: number;
}
type Status = Record<'thread' | 'process', Tally>;

/** The stat-child host, with a line-by-line channel to it. */
class Host {
  readonly child: ChildProcess;
  readonly #lines: AsyncIterator<string>;
  readonly #rl: Interface;

  constructor(args: string[] = []) {
    this.child = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#rl = createInterface({ input: this.child.stdout! });
    this.#lines = this.#rl[Symbol.asyncIterator]();
  }

  get pid(): number {
    return this.child.pid!;
  }

  async line(): Promise<Record<string, unknown>> {
    const next = await this.#lines.next();
    assert.equal(next.done, false, 'the host child ended early');
    return JSON.parse(next.value as string) as Record<string, unknown>;
  }

  async ask(order: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.child.stdin!.write(`${JSON.stringify(order)}\n`);
    return this.line();
  }

  async end(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.write(`${JSON.stringify({ op: 'exit' })}\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    this.#rl.close();
  }
}

function stat(args: string[], options: { uid?: number; gid?: number } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'stat', ...args], { encoding: 'utf8', timeout: 30_000, ...options });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function statJson(pid: number): StatReport {
  const r = stat([String(pid), '--json', '--once', '--interval', '100']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, '--once prints one reading');
  return JSON.parse(lines[0]!) as StatReport;
}

function sidecarOf(report: StatReport, mode: 'thread' | 'process'): SidecarStats {
  const found = report.sidecars.filter((s): s is SidecarStats & StatReport['sidecars'][number] => s.kind === 'sidecar' && s.mode === mode);
  assert.equal(found.length, 1, `one ${mode}-mode sidecar in ${JSON.stringify(report)}`);
  return found[0]!;
}

test('stat <pid> --json --once lists a thread-mode and a process-mode sidecar with the counts their host reports', async () => {
  const host = new Host();
  try {
    const ready = (await host.line()) as unknown as Status;
    const report = statJson(host.pid);
    assert.equal(report.pid, host.pid);
    assert.equal(report.sidecars.length, 2);
    for (const mode of ['thread', 'process'] as const) {
      const s = sidecarOf(report, mode);
      const did = ready[mode];
      assert.equal(s.state, 'running');
      assert.equal(s.hostPid, host.pid);
      assert.equal(s.pid, did.pid, 'the pid of the loop is the one the host reports');
      assert.ok(s.commandsSent >= did.sent, `commands sent ${s.commandsSent} ≥ ${did.sent}`);
      assert.equal(s.commandsSent, did.sent, 'every command the host wrote was published, and counted once');
      assert.equal(s.pendingRequests, did.held, 'the requests the plugin holds are pending');
      assert.equal(s.processed, did.sent);
      assert.equal(s.repliesSent, did.answered);
      assert.ok(s.messagesSent >= did.answered, 'the replies are among the messages sent');
      assert.equal(s.messagesReceived, s.messagesSent, 'the host drained everything the sidecar sent');
      assert.equal(s.restarts, 0);
      assert.equal(s.commands.used, 0);
      assert.ok(s.commands.tail > 0 && s.commands.capacity > 0);
      assert.equal(typeof s.commands.consumerParked, 'boolean');
      assert.ok(typeof (s as StatReport['sidecars'][number] & { heartbeatAgeMs: number }).heartbeatAgeMs === 'number');
    }
    assert.notEqual(sidecarOf(report, 'thread').sidecarIndex, sidecarOf(report, 'process').sidecarIndex);
    assert.equal(sidecarOf(report, 'process').pid !== host.pid, true);
  } finally {
    await host.end();
  }
});

test('stat without a pid lists the host with its two sidecars and not its process-mode sidecar', async () => {
  const host = new Host();
  try {
    const ready = (await host.line()) as unknown as Status;
    const r = stat(['--json']);
    assert.equal(r.status, 0, r.stderr);
    const { hosts } = JSON.parse(r.stdout) as { hosts: { pid: number; sidecars: number; command: string }[] };
    const mine = hosts.find((h) => h.pid === host.pid);
    assert.ok(mine !== undefined, `the host ${host.pid} is listed in ${r.stdout}`);
    assert.equal(mine.sidecars, 2);
    assert.match(mine.command, /stat-child/);
    assert.equal(hosts.some((h) => h.pid === ready.process.pid), false, 'the sidecar process holds the region but is no host');
  } finally {
    await host.end();
  }
});

test('a kill -9 of a process-mode sidecar with a restart policy is counted in restarts, and the host counters run on', async () => {
  const host = new Host(['restart']);
  try {
    const ready = (await host.line()) as unknown as Status;
    const before = sidecarOf(statJson(host.pid), 'process');
    process.kill(ready.process.pid, 'SIGKILL');
    // Bounded waits (a few seconds at most), so that a restart that never comes fails instead of hanging.
    let status = ready;
    for (let i = 0; i < 250 && !(status.process.pid !== ready.process.pid && status.process.pid > 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = (await host.ask({ op: 'status' })) as unknown as Status;
    }
    assert.notEqual(status.process.pid, ready.process.pid, 'the host restarted its sidecar');
    let after = sidecarOf(statJson(host.pid), 'process');
    for (let i = 0; i < 50 && after.state !== 'running'; i++) after = sidecarOf(statJson(host.pid), 'process');
    assert.equal(after.state, 'running');
    assert.equal(after.restarts, 1);
    assert.equal(after.pid, status.process.pid, 'the new sidecar process');
    assert.equal(after.sidecarIndex, before.sidecarIndex, 'the same Sidecar, followed across regions');
    assert.notEqual(after.inode, before.inode, 'a restart works on a fresh region');
    assert.ok(after.commandsSent >= before.commandsSent, 'commands sent are carried over');
    assert.ok(after.messagesReceived >= before.messagesReceived, 'messages received are carried over');
    const held = ((await host.ask({ op: 'status' })) as unknown as Status).process.held;
    assert.equal(after.pendingRequests, held, 'the pending gauge follows the requests the crash settled');
    assert.equal(sidecarOf(statJson(host.pid), 'thread').restarts, 0);
  } finally {
    await host.end();
  }
});

test('a control block scribbled by its host is reported as an unreadable region, and the other sidecar still reads', async () => {
  const host = new Host();
  try {
    await host.line();
    assert.deepEqual(await host.ask({ op: 'scribble', mode: 'thread' }), { scribbled: 'thread' });
    const report = statJson(host.pid);
    assert.equal(report.sidecars.length, 2);
    const bad = report.sidecars.filter((s) => s.kind === 'unreadable');
    assert.equal(bad.length, 1);
    assert.match((bad[0] as { reason: string }).reason, /control block's magic is 0xefbeadde/);
    assert.equal(sidecarOf(report, 'process').state, 'running');
    const text = stat([String(host.pid), '--once', '--interval', '50']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /unreadable: the control block's magic/);
  } finally {
    await host.end();
  }
});

/** Overwrites 4 bytes at `offset` of the region behind this process's fd `fd`, runs `check`, restores them. */
function withScribble(fd: number, offset: number, value: number, check: () => void): void {
  const rw = openSync(`/proc/self/fd/${fd}`, 'r+');
  const saved = Buffer.alloc(4);
  try {
    readSync(rw, saved, 0, 4, offset);
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32LE(value >>> 0, 0);
    writeSync(rw, bytes, 0, 4, offset);
    check();
  } finally {
    writeSync(rw, saved, 0, 4, offset);
    closeSync(rw);
  }
}

test('every field the reader uses is checked: a damaged header, segment index, ring descriptor or position gives a sentence, never a throw', async () => {
  const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode: 'thread' });
  try {
    await sidecar.request('warm');
    const mine = (): SidecarStats | { kind: 'unreadable'; reason: string } => {
      const regions = readProcess(process.pid).regions.filter((r) => r.kind === 'unreadable' || r.pid === process.pid);
      assert.equal(regions.length, 1);
      return regions[0]!;
    };
    const good = mine();
    assert.equal(good.kind, 'sidecar');
    const fd = (good as SidecarStats).fd;
    const header = Buffer.alloc(REGION_HEADER_SIZE);
    const ro = openSync(`/proc/self/fd/${fd}`, 'r');
    readSync(ro, header, 0, REGION_HEADER_SIZE, 0);
    closeSync(ro);
    const segments = Array.from({ length: header.readUInt32LE(REGION_SEGMENT_COUNT_OFFSET) }, (_, i) => ({
      kind: header.readUInt32LE(REGION_SEGMENTS_OFFSET + i * SEGMENT_ENTRY_SIZE),
      offset: header.readUInt32LE(REGION_SEGMENTS_OFFSET + i * SEGMENT_ENTRY_SIZE + 4),
    }));
    const control = segments.find((s) => s.kind === SEGMENT_KIND_SIDECAR_CONTROL)!.offset;
    const ring = segments.find((s) => s.kind !== SEGMENT_KIND_SIDECAR_CONTROL)!.offset;
    const cases: [string, number, number, RegExp][] = [
      ['region magic', 0, 0x12345678, /region header's magic is 0x12345678/],
      ['segment count', REGION_SEGMENT_COUNT_OFFSET, 200, /lists 200 segments, more than 12/],
      ['segment offset', REGION_SEGMENTS_OFFSET + 4, 0x7fffff80, /does not lie inside/],
      ['control version', control + CONTROL_VERSION_OFFSET, 0x02000002, /control block's version is 2/],
      ['command segment index', control + CONTROL_COMMAND_SEGMENT_OFFSET, 99, /names segment 99 as the command ring, but the region has 3 segments/],
      ['ring capacity', ring + RING_CAPACITY_OFFSET, 3000, /capacity is 3000, not a power of two/],
      ['ring head', ring + RING_HEAD_OFFSET, 0x40000000, /positions are inconsistent/],
    ];
    for (const [what, offset, value, reason] of cases) {
      withScribble(fd, offset, value, () => {
        const r = mine();
        assert.equal(r.kind, 'unreadable', `${what}: reported unreadable`);
        assert.match((r as { reason: string }).reason, reason, what);
      });
    }
    assert.equal(mine().kind, 'sidecar', 'restored, it reads again');
    assert.deepEqual(await sidecar.request('after'), new TextEncoder().encode('after'));
    assert.ok(regionDescriptors(process.pid).includes(fd));
  } finally {
    await sidecar.stop();
  }
});

test('watching a sidecar hung in its plugin shows in plugin: process, a heartbeat age that grows reading after reading, and rates', async () => {
  const sidecar = await Sidecar.start({ plugin: testPlugin('faulty'), mode: 'process' });
  sidecar.on('error', () => {});
  try {
    await sidecar.request('warm');
    const hung = sidecar.request('hang', { type: 4 }).catch(() => {});
    // The tool runs in a process of its own (it reads this one from outside); this event loop stays free.
    const tool = spawn(process.execPath, [CLI, 'stat', String(process.pid), '--json', '--interval', '100'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = createInterface({ input: tool.stdout! })[Symbol.asyncIterator]();
    const readings: SidecarStats[] = [];
    try {
      while (readings.length < 6) {
        const next = await lines.next();
        assert.equal(next.done, false, 'the tool keeps printing readings');
        const report = JSON.parse(next.value as string) as StatReport;
        readings.push(sidecarOf(report, 'process'));
      }
    } finally {
      tool.kill('SIGKILL');
    }
    const ages = readings.map((r) => (r as SidecarStats & { heartbeatAgeMs: number }).heartbeatAgeMs);
    // Once the plugin is inside process() the heartbeat stands still: from then on every reading shows it older.
    const from = readings.findIndex((r) => r.inPlugin === 'process');
    assert.ok(from >= 0 && from <= 3, `the tool saw the plugin inside process: ${JSON.stringify(readings.map((r) => r.inPlugin))}`);
    for (let i = from + 1; i < readings.length; i++) {
      assert.equal(readings[i]!.heartbeat, readings[from]!.heartbeat, 'a hung plugin does not beat');
      assert.ok(ages[i]! > ages[i - 1]!, `the heartbeat age grows: ${ages.join(', ')}`);
    }
    const rates = readings[1] as SidecarStats & { commandRates: { recordsPerSecond: number | null } };
    assert.equal(typeof rates.commandRates.recordsPerSecond, 'number', 'the second reading has rates');
    assert.equal(readings[0]!.pendingRequests, 1, 'the hung request is pending');
    void hung;
  } finally {
    await sidecar.stop({ timeout: 200 });
  }
});

test('stat of a pid that does not exist exits with 3 and says there is no such process', () => {
  const r = stat(['2147483646', '--once']);
  assert.equal(r.status, STAT_EXIT_NO_PROCESS);
  assert.match(r.stderr, /There is no process 2147483646/);
});

test('stat of a process without sidecars exits with 4 and says so', () => {
  const r = stat([String(process.pid), '--once', '--interval', '10']);
  assert.equal(r.status, STAT_EXIT_NO_SIDECARS, r.stderr);
  assert.match(r.stderr, new RegExp(`process ${process.pid} has no sidecar regions`));
});

test("stat of another user's process exits with 5 and says that only that user or root may read it", async (t) => {
  if (process.getuid?.() !== 0) {
    // Not root: pid 1 belongs to root and its descriptors are not ours to read.
    const r = stat(['1', '--once']);
    assert.equal(r.status, STAT_EXIT_PERMISSION, r.stderr);
    assert.match(r.stderr, /Permission denied reading the descriptors of process 1/);
    return;
  }
  t.diagnostic('root: the tool runs as nobody (uid 65534) against a host of root');
  const host = new Host();
  try {
    await host.line();
    const r = stat([String(host.pid), '--once'], { uid: 65534, gid: 65534 });
    assert.equal(r.status, STAT_EXIT_PERMISSION, r.stderr);
    assert.match(r.stderr, new RegExp(`Permission denied reading the descriptors of process ${host.pid}: the statistics of another user's process can be read only by that user or by root\\.`));
  } finally {
    await host.end();
  }
});

test('stat refuses a pid that is not a number and an interval out of range with usage exit 2', () => {
  assert.equal(stat(['abc']).status, 2);
  assert.equal(stat(['1', '2']).status, 2);
  const r = stat(['1', '--interval', '0']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--interval must be a whole number of milliseconds from 10 to 600000/);
});
