/** Argument checks shared by both bindings: bad input becomes ERR_INVALID_ARG before it reaches native code. */
import { checkInteger, invalidArg } from '../errors.js';
import { RING_HEADER_SIZE } from '../ring/layout.js';
import type { CallbackRef, CallThreadOptions, RingSegment } from './types.js';
import { CALL_BLOCKING } from './status.js';

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

export function int32(name: string, value: unknown): number {
  return checkInteger(name, value, INT32_MIN, INT32_MAX);
}

export function uint32(name: string, value: unknown): number {
  return checkInteger(name, value, 0, UINT32_MAX);
}

export function fn<T extends (...args: never[]) => unknown>(name: string, value: unknown): T {
  if (typeof value !== 'function') throw invalidArg(name, 'a function', value);
  return value as T;
}

export function text(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidArg(name, 'a string', value);
  if (value.includes('\0')) throw invalidArg(name, 'a string without NUL characters (native code reads it as a C string)', value);
  return value;
}

/** The handle number of a callback reference. Released handles pass: native code reports them (that is the point). */
export function callbackId(value: CallbackRef): number {
  if (typeof value === 'number') return int32('callback', value);
  if (value === null || typeof value !== 'object' || typeof (value as { id?: unknown }).id !== 'number') {
    throw invalidArg('callback', 'a CallbackHandle or a handle number', value);
  }
  return value.id;
}

/** A ring segment must lie inside its ArrayBuffer and hold at least a ring header. */
export function segment(value: RingSegment): RingSegment {
  if (value === null || typeof value !== 'object' || !(value.buffer instanceof ArrayBuffer)) {
    throw invalidArg('segment', 'an object { buffer: ArrayBuffer, byteOffset, byteLength }', value);
  }
  const byteOffset = checkInteger('segment.byteOffset', value.byteOffset, 0, value.buffer.byteLength);
  const byteLength = checkInteger('segment.byteLength', value.byteLength, RING_HEADER_SIZE, value.buffer.byteLength - byteOffset);
  return { buffer: value.buffer, byteOffset, byteLength };
}

export function callThreadFlags(options: CallThreadOptions): { count: number; flags: number; delayMs: number; timeoutMs: number } {
  if (options === null || typeof options !== 'object') throw invalidArg('options', 'an object', options);
  if (options.mode !== 'fire-and-forget' && options.mode !== 'blocking') {
    throw invalidArg('options.mode', "'fire-and-forget' or 'blocking'", options.mode);
  }
  return {
    count: uint32('options.count', options.count),
    flags: options.mode === 'blocking' ? CALL_BLOCKING : 0,
    delayMs: uint32('options.delayMs', options.delayMs ?? 0),
    timeoutMs: uint32('options.timeoutMs', options.timeoutMs ?? 0),
  };
}
