/**
 * Shared helpers of the SidecarPool tests (test/pool-*.test.ts): the faulty test plugin's command types, payload
 * builders for them, the identity a type 9 reply carries, waiting for a pool's 'member' changes, counting what reached
 * a plugin, and the unhandled-rejection guard every pool test file installs.
 */
import assert from 'node:assert/strict';
import type { SidecarPool, MemberChange } from '../../src/index.js';
import { testPlugin } from './sidecar-env.js';

/** native/test/plugins/faulty.c command types. */
export const SEGFAULT = 1;
export const HANG = 4;
/** Sleep the u32 LE milliseconds of the payload's first 4 bytes, then reply with (or emit) the payload. */
export const SLEEP = 8;
/** Reply with 8 bytes: u32 LE getpid() and u32 LE this init's instance number (process-wide counter). */
export const IDENTIFY = 9;

export const FAULTY = testPlugin('faulty');

export const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A type 8 payload: sleep `ms` milliseconds, with `tag` after the 4 bytes of the duration (so replies can be told apart). */
export function sleepFor(ms: number, tag = ''): Uint8Array {
  const text = new TextEncoder().encode(tag);
  const bytes = new Uint8Array(4 + text.byteLength);
  new DataView(bytes.buffer).setUint32(0, ms, true);
  bytes.set(text, 4);
  return bytes;
}

/** The tag of a type 8 payload or reply (the bytes after the duration). */
export function tagOf(reply: Uint8Array): string {
  return decode(reply.subarray(4));
}

/** A member instance as a type 9 reply names it: its process and its init (thread-mode members share the process). */
export interface Identity {
  pid: number;
  instance: number;
}

export function identity(reply: Uint8Array): Identity {
  assert.equal(reply.byteLength, 8, 'a type 9 reply is 8 bytes');
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  return { pid: view.getUint32(0, true), instance: view.getUint32(4, true) };
}

/** A string naming an identity, for sets and equality. */
export function who(reply: Uint8Array): string {
  const { pid, instance } = identity(reply);
  return `${pid}/${instance}`;
}

/** Every 'member' change of `pool` from now on, in order. */
export function memberLog(pool: SidecarPool): MemberChange[] {
  const log: MemberChange[] = [];
  pool.on('member', (change: MemberChange) => log.push(change));
  return log;
}

/** The next 'member' change of `pool` that `match` accepts. */
export function nextMember(pool: SidecarPool, match: (change: MemberChange) => boolean): Promise<MemberChange> {
  return new Promise((resolve) => {
    const on = (change: MemberChange): void => {
      if (!match(change)) return;
      pool.off('member', on);
      resolve(change);
    };
    pool.on('member', on);
  });
}

/**
 * A host table whose process() callback counts, per payload text, how often a plugin was about to process a command
 * (the runtime calls it before the plugin's process()), and lets a test wait for the next such call.
 */
export function deliveryCounter(): {
  host: { process(data: Uint8Array, type: number): void };
  counts: Map<string, number>;
  /** Resolves at the next process() call whose payload text is `text`. */
  next(text: string): Promise<void>;
} {
  const counts = new Map<string, number>();
  const waiters = new Map<string, (() => void)[]>();
  return {
    counts,
    host: {
      process: (data: Uint8Array) => {
        const text = decode(data);
        counts.set(text, (counts.get(text) ?? 0) + 1);
        const list = waiters.get(text);
        if (list !== undefined) {
          waiters.delete(text);
          for (const wake of list) wake();
        }
      },
    },
    next: (text) =>
      new Promise<void>((resolve) => {
        const list = waiters.get(text) ?? [];
        list.push(resolve);
        waiters.set(text, list);
      }),
  };
}

export { guardUnhandledRejections } from './guards.js';

/** Asserts `error` is an error with `code` (and, when given, a message matching `message`); for assert.rejects. */
export function hasCode(code: string, message?: RegExp): (error: unknown) => true {
  return (error) => {
    assert.equal((error as { code?: string }).code, code, `${code}, not: ${String(error)}`);
    if (message !== undefined) assert.match((error as Error).message, message);
    return true;
  };
}
