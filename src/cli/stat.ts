/**
 * `npx native-sidecar stat [pid] [--json] [--interval ms] [--once]`: live statistics of the sidecars of a running
 * process, read from outside through its shared memory (docs/wire-format.md §8.4; stat-reader.ts reads and checks).
 * Without a pid it lists the processes that host sidecars. With one it shows, every interval, per sidecar: state,
 * heartbeat age (how long since the heartbeat last changed, as seen by this tool), restarts, pending requests, the
 * sidecar's pid, and per ring the fill level, records/s and bytes/s (from the changes between two readings) and
 * whether its consumer is parked. `--json` prints one JSON object per reading per line (NDJSON); `--once` reads
 * twice, an interval apart, prints one reading (with rates) and exits.
 *
 * Exit codes: 0 done, 2 bad usage (main.ts), 3 no such process (or it ended while watched), 4 no sidecar regions
 * (no process hosts any, when listing), 5 permission denied.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { findHosts, isNoSuchProcess, isPermissionDenied, processCommand, readProcess, type ProcessSample, type RegionStats, type RingStats, type SidecarStats } from './stat-reader.js';

export const STAT_EXIT_NO_PROCESS = 3;
export const STAT_EXIT_NO_SIDECARS = 4;
export const STAT_EXIT_PERMISSION = 5;

export interface StatOptions {
  /** The process to watch; undefined lists the hosts. */
  pid: number | undefined;
  json: boolean;
  intervalMs: number;
  once: boolean;
}

/** Rates of one ring between two readings of the same region; null when there is no earlier reading of it. */
export interface RingRates {
  recordsPerSecond: number | null;
  bytesPerSecond: number | null;
}

/** What one line of `--json` carries per sidecar: the reading, its rates and its heartbeat age. */
export type SidecarReport = SidecarStats & {
  /** Milliseconds since this tool first saw the current heartbeat value (a lower bound: it may be older). */
  heartbeatAgeMs: number;
  commandRates: RingRates;
  eventRates: RingRates;
  /** messages_received per second (host side of the event ring). */
  receivedPerSecond: number | null;
};

export interface StatReport {
  time: string;
  pid: number;
  command: string;
  intervalMs: number;
  sidecars: (SidecarReport | Extract<RegionStats, { kind: 'unreadable' }>)[];
}

/** Follows heartbeats across readings: when each sidecar's current value was first seen. */
export class HeartbeatAges implements HeartbeatAgesLike {
  readonly #seen = new Map<string, { inode: number; value: number; since: number }>();

  age(s: SidecarStats, now: number): number {
    const key = `${s.hostPid}:${s.sidecarIndex}`;
    const last = this.#seen.get(key);
    if (last === undefined || last.inode !== s.inode || last.value !== s.heartbeat) {
      // First seen, or changed since the last reading: it changed at most one interval ago; count from now.
      this.#seen.set(key, { inode: s.inode, value: s.heartbeat, since: now });
      return 0;
    }
    return now - last.since;
  }
}

function perSecond(delta: number, ms: number): number {
  return ms <= 0 ? 0 : Math.round((delta * 1000) / ms);
}

function u32Delta(now: number, before: number): number {
  return (now - before) >>> 0;
}

function ringRates(now: RingStats, before: RingStats | undefined, records: number, recordsBefore: number | undefined, ms: number): RingRates {
  return {
    recordsPerSecond: recordsBefore === undefined ? null : perSecond(u32Delta(records, recordsBefore), ms),
    bytesPerSecond: before === undefined ? null : perSecond(u32Delta(now.tail, before.tail), ms),
  };
}

/** The report of `current` against `previous` (the reading an interval earlier, or undefined for none). */
export function buildReport(current: ProcessSample, previous: ProcessSample | undefined, ages: HeartbeatAgesLike, intervalMs: number): StatReport {
  const ms = previous === undefined ? 0 : current.at - previous.at;
  const sidecars: StatReport['sidecars'] = [];
  for (const r of current.regions) {
    if (r.kind === 'unreadable') {
      sidecars.push(r);
      continue;
    }
    const same = previous?.regions.find((p): p is SidecarStats => p.kind === 'sidecar' && p.hostPid === r.hostPid && p.sidecarIndex === r.sidecarIndex);
    // Ring positions and the sidecar's counters belong to one region; a restart brings a fresh one (§8.4).
    const sameRegion = same !== undefined && same.inode === r.inode ? same : undefined;
    sidecars.push({
      ...r,
      heartbeatAgeMs: Math.round(ages.age(r, current.at)),
      commandRates: ringRates(r.commands, sameRegion?.commands, r.commandsSent, same?.commandsSent, ms),
      eventRates: ringRates(r.events, sameRegion?.events, r.messagesSent, sameRegion?.messagesSent, ms),
      receivedPerSecond: same === undefined ? null : perSecond(u32Delta(r.messagesReceived, same.messagesReceived), ms),
    });
  }
  return { time: new Date().toISOString(), pid: current.pid, command: processCommand(current.pid), intervalMs, sidecars };
}

export interface HeartbeatAgesLike {
  age(s: SidecarStats, now: number): number;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function rate(n: number | null, unit: string): string {
  if (n === null) return `- ${unit}`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M${unit}`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k${unit}`;
  return `${n} ${unit}`;
}

function ringLine(name: string, arrow: string, ring: RingStats, rates: RingRates, consumer: string, extra: string): string {
  const pct = ((ring.used / ring.capacity) * 100).toFixed(1);
  const fill = `${bytes(ring.used)} / ${bytes(ring.capacity)} (${pct} %)`;
  const parked = ring.consumerParked ? 'parked' : 'awake';
  const closed = ring.closed === 0 ? '' : '  closed';
  return `  ${name.padEnd(8)} ${arrow} fill ${fill.padEnd(26)} ${rate(rates.recordsPerSecond, 'rec/s').padStart(12)} ${rate(rates.bytesPerSecond, 'B/s').padStart(11)}  ${consumer} ${parked}${ring.producerParked ? ', producer parked' : ''}${closed}  ${extra}`;
}

/** The report as the text a terminal shows (lines, no trailing newline). */
export function formatReport(report: StatReport): string {
  const lines = [`native-sidecar stat: process ${report.pid} (${report.command}), ${report.sidecars.length} sidecar region(s), ${report.time}, every ${report.intervalMs} ms`];
  for (const s of report.sidecars) {
    if (s.kind === 'unreadable') {
      lines.push(`region at fd ${s.fd}: unreadable: ${s.reason}`);
      continue;
    }
    const where = s.mode === 'process' ? `process ${s.pid}` : s.mode === 'thread' ? `thread in ${s.pid}` : 'not attached';
    lines.push(
      `sidecar #${s.sidecarIndex} (fd ${s.fd}): ${s.state}, ${where}, heartbeat ${s.heartbeatAgeMs} ms ago, in plugin: ${s.inPlugin}, ` +
        `restarts ${s.restarts}, pending requests ${s.pendingRequests}, processed ${s.processed}`,
    );
    lines.push(ringLine('commands', '->', s.commands, s.commandRates, 'sidecar', `sent ${s.commandsSent}`));
    lines.push(ringLine('events', '<-', s.events, s.eventRates, 'host', `sent ${s.messagesSent} (replies ${s.repliesSent}), received ${s.messagesReceived}`));
  }
  return lines.join('\n');
}

/** Prints the hosts (list mode). */
function listHosts(out: (text: string) => void, json: boolean): number {
  const hosts = findHosts();
  if (json) out(`${JSON.stringify({ time: new Date().toISOString(), hosts })}\n`);
  else if (hosts.length > 0) {
    out(`${'PID'.padStart(8)}  SIDECARS  COMMAND\n`);
    for (const h of hosts) out(`${String(h.pid).padStart(8)}  ${String(h.sidecars).padStart(8)}  ${h.command}\n`);
  }
  if (hosts.length === 0) {
    process.stderr.write('native-sidecar stat: no process that this user may read hosts a sidecar.\n');
    return STAT_EXIT_NO_SIDECARS;
  }
  return 0;
}

/**
 * Runs the command: lists the hosts, or watches process `o.pid` until it ends (or once). Writes to stdout, errors
 * to stderr; resolves with the exit code. Main thread of the CLI; never throws for anything the target does.
 */
export async function runStat(o: StatOptions, out: (text: string) => void = (t) => void process.stdout.write(t)): Promise<number> {
  if (o.pid === undefined) return listHosts(out, o.json);
  const ages = new HeartbeatAges();
  const tty = !o.json && process.stdout.isTTY === true && !o.once;
  let previous: ProcessSample | undefined;
  for (let reading = 0; ; reading++) {
    let sample: ProcessSample;
    try {
      sample = readProcess(o.pid);
    } catch (error) {
      process.stderr.write(`native-sidecar stat: ${(error as Error).message}\n`);
      if (isNoSuchProcess(error)) return STAT_EXIT_NO_PROCESS;
      if (isPermissionDenied(error)) return STAT_EXIT_PERMISSION;
      return 1;
    }
    if (sample.regions.length === 0) {
      process.stderr.write(`native-sidecar stat: process ${o.pid} has no sidecar regions (no descriptor links to /memfd:native-sidecar with a control block).\n`);
      return STAT_EXIT_NO_SIDECARS;
    }
    // --once: the first reading only gives the base of the rates; the second is printed.
    if (!o.once || reading > 0) {
      const report = buildReport(sample, previous, ages, o.intervalMs);
      if (o.json) out(`${JSON.stringify(report)}\n`);
      else out(`${tty ? '\x1b[H\x1b[2J' : ''}${formatReport(report)}\n${tty ? '' : '\n'}`);
      if (o.once) return 0;
    }
    previous = sample;
    await sleep(o.intervalMs);
  }
}
