/**
 * Native peers for tests and benchmarks: run one mode of native/test/peer.h against rings that JavaScript also uses,
 * either on a native thread inside the addon (RingPeerThread) or in a separate process (build/Release/ring_peer).
 *
 * Modes: 'echo' (read `input`, write the same records to `output`, until `input` is closed; then close `output`),
 * 'verify' (consume `input`, checking stress payloads: sequence and checksum), 'produce' (write `count` stress records
 * of random length in [minLength, maxLength] to `output`, then close it), 'sink' (consume `input`, counting).
 * On any error the peer closes its ends of its rings, so a JavaScript side waiting on them wakes up.
 *
 * Not part of the public API (not exported from the package index); the stress payload format is the one of
 * test/helpers/stress-payload.ts and native/test/stress_payload.h.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { NativeSidecarError, checkInteger, fromNative, invalidArg } from '../errors.js';
import { findBuildArtifact, loadAddon } from '../native/addon.js';

export type PeerMode = 'echo' | 'verify' | 'produce' | 'sink';

export interface PeerOptions {
  mode: PeerMode;
  /** Segment index of the ring the peer reads (echo, verify, sink). */
  input?: number;
  /** Segment index of the ring the peer writes (echo, produce). */
  output?: number;
  /** produce: records to write; verify/sink: records expected (the result is not ok otherwise). */
  count?: number;
  /** produce: payload length range; default 8 .. min(4096, the ring's max payload). */
  minLength?: number;
  maxLength?: number;
  /** produce: seed of the length generator. */
  seed?: number;
  /** Records per publication / per read batch (default 64). */
  batch?: number;
  /** How the peer waits; default spin-then-park with the C default spin (50 µs). */
  waitPolicy?: { mode: 'spin' | 'spin-then-park' | 'park'; spinMicros?: number };
  /** The peer gives up (code 'idle-timeout') after this long without progress; default 30 s; negative: never. */
  idleTimeoutMs?: number;
  /**
   * An eventfd (an EventfdParker's `fd`) the peer also writes each time it wakes the JavaScript side of its rings
   * (wire-format §5.1.1). Process peer: inherited as the child's fd 4. Thread peer: the peer writes its own duplicate.
   */
  wakeFd?: number;
}

export interface PeerResult {
  mode: PeerMode;
  ok: boolean;
  /** 'ok', or why not: 'verify-failed', 'corrupt', 'closed', 'idle-timeout', 'stopped', 'count-mismatch', … */
  code: string;
  records: number;
  bytes: number;
  /** From the first record to the end of the stream, measured by the peer. */
  elapsedNs: number;
  error: string | null;
}

export interface PeerHandle {
  /** Settles once the peer has finished: resolves with its result (check `ok`), rejects if it could not report one. */
  readonly done: Promise<PeerResult>;
  /** Asks the peer to stop early (thread: within 100 ms; process: SIGTERM). `done` still settles. */
  stop(): void;
}

/** Anything with a buffer and a segment table: a SharedRegion, or a hand-made layout over a SharedArrayBuffer. */
export interface PeerTarget {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  readonly segments: ReadonlyArray<{ readonly offset: number; readonly size: number }>;
}

const RING_PEER = 'build/Release/ring_peer';

/** Absolute path of the ring_peer executable; ERR_ADDON_MISSING when it was not built. */
export function ringPeerPath(): string {
  const path = findBuildArtifact(RING_PEER);
  if (path === undefined) {
    throw new NativeSidecarError('ERR_ADDON_MISSING', `The test peer ${RING_PEER} was not found; run \`npm install\` to build it.`);
  }
  return path;
}

function segmentOf(target: PeerTarget, name: 'input' | 'output', index: number | undefined): { offset: number; size: number } {
  if (index === undefined) throw invalidArg(`options.${name}`, 'a segment index (this mode needs that ring)', index);
  checkInteger(`options.${name}`, index, 0, target.segments.length - 1);
  const segment = target.segments[index];
  if (segment === undefined) throw invalidArg(`options.${name}`, 'a segment index', index);
  return { offset: segment.offset, size: segment.size };
}

const needsInput = (mode: PeerMode): boolean => mode !== 'produce';
const needsOutput = (mode: PeerMode): boolean => mode === 'echo' || mode === 'produce';

/**
 * Starts a peer on a native thread inside this process, over `target`'s memory. Call on a JavaScript thread; the
 * result arrives on it. While the peer runs, the memory stays mapped even if the region is closed, and the process
 * stays alive.
 */
export function startThreadPeer(target: PeerTarget, options: PeerOptions): PeerHandle {
  const native: Record<string, unknown> = {
    mode: options.mode,
    count: options.count,
    minLength: options.minLength,
    maxLength: options.maxLength,
    seed: options.seed,
    batch: options.batch,
    waitMode: options.waitPolicy?.mode,
    spinMicros: options.waitPolicy?.spinMicros,
    idleTimeoutMs: options.idleTimeoutMs,
    wakeFd: options.wakeFd,
  };
  if (needsInput(options.mode)) native['input'] = segmentOf(target, 'input', options.input);
  if (needsOutput(options.mode)) native['output'] = segmentOf(target, 'output', options.output);
  let resolve!: (result: PeerResult) => void;
  const done = new Promise<PeerResult>((r) => (resolve = r));
  let peer: { stop(): void };
  try {
    peer = new (loadAddon().RingPeerThread)(new Uint8Array(target.buffer), native, resolve);
  } catch (error) {
    throw fromNative(NativeSidecarError, error);
  }
  return { done, stop: () => peer.stop() };
}

/**
 * Starts a peer in a separate process (build/Release/ring_peer) that gets `region.fd` as its fd 3 (and
 * `options.wakeFd`, if given, as its fd 4). The process dies
 * with this one (PR_SET_PDEATHSIG). `child` is exposed for tests that kill it.
 */
export function startProcessPeer(region: PeerTarget & { readonly fd: number }, options: PeerOptions): PeerHandle & { child: ChildProcess } {
  const args = ['--fd', '3', '--mode', options.mode, '--parent-pid', String(process.pid)];
  const add = (flag: string, value: number | string | undefined): void => {
    if (value !== undefined) args.push(flag, String(value));
  };
  if (needsInput(options.mode)) add('--in', checkInteger('options.input', options.input, 0, region.segments.length - 1));
  if (needsOutput(options.mode)) add('--out', checkInteger('options.output', options.output, 0, region.segments.length - 1));
  add('--count', options.count);
  add('--min-length', options.minLength);
  add('--max-length', options.maxLength);
  add('--seed', options.seed);
  add('--batch', options.batch);
  add('--wait', options.waitPolicy?.mode);
  add('--spin-us', options.waitPolicy?.spinMicros);
  add('--idle-timeout-ms', options.idleTimeoutMs);
  const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe', region.fd];
  if (options.wakeFd !== undefined) {
    stdio.push(checkInteger('options.wakeFd', options.wakeFd, 0, 2147483647));
    args.push('--wake-fd', String(stdio.length - 1));
  }
  const child = spawn(ringPeerPath(), args, { stdio });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<PeerResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as PeerResult);
      } catch {
        reject(new NativeSidecarError('ERR_SYSTEM', `The ring_peer process ended (code ${code}, signal ${signal}) without a result line; stderr: ${stderr.trim() || '(empty)'}.`));
      }
    });
  });
  return { done, child, stop: () => child.kill('SIGTERM') };
}
