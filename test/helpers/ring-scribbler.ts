/**
 * The TypeScript side of native/test/ring_scribbler.c, the hostile peer of test/ring-hostile-peer.test.ts: the layout
 * of its control segment, how to add one to a region, and how to spawn it on a region's fd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { SharedRegion } from '../../src/index.js';
import { nativeProgram } from './native-programs.js';

/** Word indices of the control segment (u32 each); the comment of ring_scribbler.c says who writes which. */
export const CONTROL = {
  RESET_REQUEST: 0,
  RESET_ACK: 1,
  RESET_DONE: 2,
  NEEDS_RESET: 3,
  SCRIBBLES: 4,
  FINISHED: 5,
} as const;
/** A user-defined segment kind (≥ 0x10000, wire-format §1) for the control words. */
export const CONTROL_KIND = 0x10000 + 0x5c;
/** Bytes of the control segment: one block, more than the words need. */
export const CONTROL_SIZE = 128;

export interface ScribblerOptions {
  ring: number;
  control: number;
  /** Hostile mode: this many scribbles. 0: legitimate mode, `records` stress records, then close. */
  scribbles: number;
  records?: number;
  seed?: number;
  /** Mean producer operations between two scribbles. */
  writes?: number;
  maxLength?: number;
  pauseMicros?: number;
  maxMs?: number;
}

export interface ScribblerResult {
  ok: boolean;
  scribbles: number;
  records: number;
  resets: number;
  producerFailures: number;
  full: number;
  elapsedNs: number;
  error: string | null;
}

export interface Scribbler {
  child: ChildProcess;
  /** True once the process has ended ('close': its output is complete). */
  readonly closed: () => boolean;
  /** Its JSON result, with its exit code and signal; rejects when it printed none. */
  result: Promise<{ result: ScribblerResult; code: number | null; signal: NodeJS.Signals | null }>;
}

/** Adds the control segment to a region being set up (creator, before sharing). */
export function addControlSegment(region: SharedRegion): { index: number; words: Int32Array } {
  const segment = region.addSegment(CONTROL_KIND, CONTROL_SIZE);
  return { index: segment.index, words: new Int32Array(region.buffer, segment.offset, CONTROL_SIZE / Int32Array.BYTES_PER_ELEMENT) };
}

/** Spawns build/Release/ring_scribbler with `region.fd` as its fd 3. */
export function spawnScribbler(region: SharedRegion, options: ScribblerOptions): Scribbler {
  const args = ['--fd', '3', '--ring', String(options.ring), '--control', String(options.control), '--scribbles', String(options.scribbles)];
  args.push('--parent-pid', String(process.pid));
  const add = (flag: string, value: number | undefined): void => {
    if (value !== undefined) args.push(flag, String(value));
  };
  add('--records', options.records);
  add('--seed', options.seed);
  add('--writes', options.writes);
  add('--max-length', options.maxLength);
  add('--pause-us', options.pauseMicros);
  add('--max-ms', options.maxMs);
  const child = spawn(nativeProgram('ring_scribbler'), args, { stdio: ['ignore', 'pipe', 'pipe', region.fd] });
  let stdout = '';
  let stderr = '';
  let closed = false;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const result = new Promise<{ result: ScribblerResult; code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    // 'close', not 'exit': the last line of output may arrive after the exit is reported.
    child.once('close', (code, signal) => {
      closed = true;
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ result: JSON.parse(line) as ScribblerResult, code, signal });
      } catch {
        reject(new Error(`ring_scribbler ended (code ${code}, signal ${signal}) without a result line; stderr: ${stderr.trim() || '(empty)'}`));
      }
    });
  });
  return { child, closed: () => closed, result };
}
