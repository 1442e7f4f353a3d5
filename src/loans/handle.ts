/**
 * Buffer handles (docs/wire-format.md §9.1): 24 bytes that name a buffer of a pool — {segment, generation, offset,
 * length, reserved}. Encoding and decoding only; the checks live with the reader (PoolReader.resolve) and the owner
 * (PoolOwner.acceptReturn), because what a handle may name depends on the pool.
 */
import { BufferPoolError, invalidArg } from '../errors.js';
import * as L from './layout.js';

/** A buffer's name. `offset` is in its segment; every field is an unsigned integer (offset < 2^53 once checked). */
export interface BufferHandle {
  readonly segment: number;
  readonly generation: number;
  readonly offset: number;
  readonly length: number;
  /** 0 in every handle an owner makes; decoded as found, so that a reader can refuse a non-zero value. */
  readonly reserved?: number;
}

/** Writes `handle` as its 24-byte wire image at `byteOffset` of `target`. Any thread; no shared state. */
export function encodeHandle(handle: BufferHandle, target: Uint8Array, byteOffset = 0): void {
  if (!(target instanceof Uint8Array) || byteOffset < 0 || byteOffset + L.BUFFERS_HANDLE_SIZE > target.length) {
    throw invalidArg('target', `a Uint8Array with ${L.BUFFERS_HANDLE_SIZE} bytes from byteOffset ${byteOffset}`, target, BufferPoolError);
  }
  const v = new DataView(target.buffer, target.byteOffset + byteOffset, L.BUFFERS_HANDLE_SIZE);
  v.setUint32(L.HANDLE_SEGMENT_OFFSET, handle.segment >>> 0, true);
  v.setUint32(L.HANDLE_GENERATION_OFFSET, handle.generation >>> 0, true);
  v.setBigUint64(L.HANDLE_OFFSET_OFFSET, BigInt(handle.offset), true);
  v.setUint32(L.HANDLE_LENGTH_OFFSET, handle.length >>> 0, true);
  v.setUint32(L.HANDLE_RESERVED_OFFSET, (handle.reserved ?? 0) >>> 0, true);
}

/**
 * Reads a handle from its wire image. The bytes may come from a peer: every field is read once, as it is; an offset
 * of 2^53 or more reads as Number.MAX_SAFE_INTEGER + 1 (2^53), which no check accepts (segments end before 2^40).
 */
export function decodeHandle(source: Uint8Array, byteOffset = 0): BufferHandle {
  if (!(source instanceof Uint8Array) || byteOffset < 0 || byteOffset + L.BUFFERS_HANDLE_SIZE > source.length) {
    throw invalidArg('source', `a Uint8Array with ${L.BUFFERS_HANDLE_SIZE} bytes from byteOffset ${byteOffset}`, source, BufferPoolError);
  }
  const v = new DataView(source.buffer, source.byteOffset + byteOffset, L.BUFFERS_HANDLE_SIZE);
  const offset = v.getBigUint64(L.HANDLE_OFFSET_OFFSET, true);
  return {
    segment: v.getUint32(L.HANDLE_SEGMENT_OFFSET, true),
    generation: v.getUint32(L.HANDLE_GENERATION_OFFSET, true),
    offset: offset >= 2n ** 53n ? 2 ** 53 : Number(offset),
    length: v.getUint32(L.HANDLE_LENGTH_OFFSET, true),
    reserved: v.getUint32(L.HANDLE_RESERVED_OFFSET, true),
  };
}

/** The handle as 48 lowercase hex digits of its wire image (tests, logs). */
export function handleToHex(handle: BufferHandle): string {
  const bytes = new Uint8Array(L.BUFFERS_HANDLE_SIZE);
  encodeHandle(handle, bytes);
  return Buffer.from(bytes).toString('hex');
}

/** The inverse of handleToHex. */
export function handleFromHex(hex: string): BufferHandle {
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{48}$/.test(hex)) throw invalidArg('hex', 'a string of 48 hex digits', hex, BufferPoolError);
  return decodeHandle(new Uint8Array(Buffer.from(hex, 'hex')));
}
