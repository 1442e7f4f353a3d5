/**
 * Argument checks of the Sidecar layer: the helpers of src/errors.ts with the class fixed to SidecarError, so that
 * every error a Sidecar throws or rejects with — its argument errors included — is a SidecarError.
 */
import { SidecarError, checkInteger, invalidArg } from '../errors.js';
import { checkKnownKeys } from '../option-keys.js';

/** ERR_INVALID_ARG (SidecarError) naming `name`: "The argument 'name' must be `expectation`; received …". */
export function badArg(name: string, expectation: string, actual: unknown): SidecarError {
  return invalidArg(name, expectation, actual, SidecarError);
}

/** An integer in [min, max], or ERR_INVALID_ARG (SidecarError) naming `name`; `hint` ends the expectation. */
export function intArg(name: string, value: unknown, min: number, max: number, hint?: string): number {
  return checkInteger(name, value, min, max, SidecarError, hint);
}

/**
 * The keys an options object of type T may have, from a Record over every key of T: the compiler refuses a record
 * that misses an option of the interface or names one it does not have, so the list cannot drift from the type.
 */
export function knownKeys<T>(keys: Record<keyof Required<T>, true>): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

/** Refuses a key of `value` (named `name`) that is not in `known`: ERR_INVALID_ARG suggesting the closest one. */
export function checkKeys(name: string, value: object, known: readonly string[]): void {
  checkKnownKeys(name, value, known, SidecarError);
}

/** The options object of send()/request()/stop() (a Sidecar's or a pool's), checked: undefined, or an object whose keys are all `known`. */
export function optionsObject<T extends object>(options: T | undefined, known: readonly string[]): T | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw badArg('options', 'an object', options);
  checkKeys('options', options, known);
  return options;
}

/** options.type: a u32, default 0. */
export function commandType(options: { type?: number } | undefined): number {
  return options?.type === undefined ? 0 : intArg('options.type', options.type, 0, 0xffffffff);
}

const EMPTY = new Uint8Array(0);
const textEncoder = new TextEncoder();

/** Whether `buffer` was detached (transferred or closed). Node 20 has no ArrayBuffer.prototype.detached. */
function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/** The bytes of a command argument `name` (a string is encoded as UTF-8); ERR_INVALID_ARG for anything else or a detached buffer. */
export function toBytes(name: string, data: unknown): Uint8Array {
  let bytes: Uint8Array;
  if (data instanceof Uint8Array) bytes = data;
  else if (typeof data === 'string') return textEncoder.encode(data);
  else if (ArrayBuffer.isView(data)) {
    if (isDetached(data.buffer)) throw badArg(name, 'a view of a live buffer (its ArrayBuffer is detached: transferred or closed)', data);
    bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } else if (data instanceof ArrayBuffer) {
    if (isDetached(data)) throw badArg(name, 'a live ArrayBuffer (it is detached: transferred or closed)', data);
    return new Uint8Array(data);
  } else throw badArg(name, 'a string, an ArrayBuffer or an ArrayBufferView', data);
  if (bytes.byteLength === 0) {
    if (isDetached(bytes.buffer)) throw badArg(name, 'a view of a live buffer (its ArrayBuffer is detached: transferred or closed)', data);
    return EMPTY;
  }
  return bytes;
}


/** Largest timeout in ms (setTimeout's limit). Timeouts are integers from 1: 0 is refused (see SidecarOptions). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A request's options.timeout: undefined, or milliseconds from 1 to 2^31 − 1 (0 is refused: it would mean neither "none" nor "at once"). */
export function requestTimeout(value: unknown): number | undefined {
  return value === undefined ? undefined : intArg('options.timeout', value, 1, MAX_TIMEOUT_MS, ' (milliseconds; leave it out for no timeout)');
}

/** A request's options.signal: undefined or an AbortSignal. */
export function requestSignal(value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) throw badArg('options.signal', 'an AbortSignal', value);
  return value;
}

/** The options of stop() (a Sidecar's or a pool's), checked: `timeout` (default `defaultMs`) and `drain` (default true). */
export function stopArgs(options: { timeout?: number; drain?: boolean } | undefined, defaultMs: number): { timeout: number; drain: boolean } {
  const timeout = options?.timeout === undefined
    ? defaultMs
    : intArg('options.timeout', options.timeout, 1, MAX_TIMEOUT_MS, ` (milliseconds; leave it out for options.stopTimeoutMs, ${defaultMs})`);
  const drain = options?.drain;
  if (drain !== undefined && typeof drain !== 'boolean') throw badArg('options.drain', 'a boolean', drain);
  return { timeout, drain: drain !== false };
}
