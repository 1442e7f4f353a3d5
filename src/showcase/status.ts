/**
 * Return codes of libns_showcase (native/showcase/showcase.h) and their typed errors. The C library returns codes;
 * both bindings turn them into `InteropError`s (or `RingError`s for ring failures) here, in one place.
 */
import { InteropError, RingError, NativeSidecarError, type ErrorCode } from '../errors.js';

export const SC_OK = 0;
export const SC_EINVAL = -1;
export const SC_ERELEASED = -2;
export const SC_EDEADLOCK = -3;
export const SC_ECLOSED = -4;
export const SC_ETIMEDOUT = -5;
export const SC_ENOSPC = -6;
export const SC_ETHREW = -7;
export const SC_EBUSY = -8;
export const SC_ESYSTEM = -9;
export const SC_EEMPTY = -10;
export const SC_EFULL = -11;
export const SC_ERING = -100;
/** ring.h codes, offset by SC_ERING. */
const RING_ECORRUPT = -4;
const RING_ECLOSED = -6;
const RING_ETOOBIG = -3;

export const CALL_MESSAGE = 1;
export const CALL_VALUE = 2;
export const CALL_BLOCKING = 1;
export const RING_TEXT_TYPE = 1;

const ENOSPC = 28;
const EAGAIN = 11;

function describe(status: number): { code: ErrorCode; reason: string; errno?: number } {
  switch (status) {
    case SC_EINVAL:
      return { code: 'ERR_INVALID_ARG', reason: 'an argument was refused by the native library (wrong kind or range)' };
    case SC_ERELEASED:
      return { code: 'ERR_CALLBACK_RELEASED', reason: 'the handle was released (or never issued)' };
    case SC_EDEADLOCK:
      return {
        code: 'ERR_DEADLOCK',
        reason: 'a blocking call to the JavaScript thread was refused because that thread is itself blocked in the native library',
      };
    case SC_ECLOSED:
      return { code: 'ERR_CALLBACK_RELEASED', reason: 'the binding that owns the callback was closed' };
    case SC_ETIMEDOUT:
      return { code: 'ERR_TIMEOUT', reason: 'the JavaScript callback did not return within the timeout' };
    case SC_ENOSPC:
      return { code: 'ERR_SYSTEM', reason: 'every slot of the native handle table is in use', errno: ENOSPC };
    case SC_ETHREW:
      return { code: 'ERR_CALLBACK_THREW', reason: 'the JavaScript callback threw' };
    case SC_EBUSY:
      return { code: 'ERR_INVALID_ARG', reason: 'the thread is already being joined' };
    case SC_ESYSTEM:
      return { code: 'ERR_SYSTEM', reason: 'the native thread could not be created', errno: EAGAIN };
    case SC_EEMPTY:
      return { code: 'ERR_INVALID_ARG', reason: 'the ring is empty' };
    case SC_EFULL:
      return { code: 'ERR_INVALID_ARG', reason: 'the ring is full' };
    case SC_ERING + RING_ECORRUPT:
      return { code: 'ERR_RING_CORRUPT', reason: 'the ring memory failed validation' };
    case SC_ERING + RING_ECLOSED:
      return { code: 'ERR_RING_CLOSED', reason: 'the ring was closed' };
    case SC_ERING + RING_ETOOBIG:
      return { code: 'ERR_RING_TOO_BIG', reason: 'the record is larger than the ring allows' };
    default:
      if (status <= SC_ERING) return { code: 'ERR_RING_CORRUPT', reason: `the ring reported code ${status - SC_ERING}` };
      return { code: 'ERR_SYSTEM', reason: `the native library returned the unknown status ${status}` };
  }
}

/** The typed error for a negative status of the native library; `what` names the operation ("Calling the callback"). */
export function statusError(status: number, what: string): NativeSidecarError {
  const { code, reason, errno } = describe(status);
  const message = `${what} failed: ${reason}.`;
  const options = errno === undefined ? undefined : { errno };
  return code.startsWith('ERR_RING_') ? new RingError(code, message, options) : new InteropError(code, message, options);
}

/** Throws the typed error of `status` unless it is SC_OK. */
export function check(status: number, what: string): void {
  if (status !== SC_OK) throw statusError(status, what);
}

/** A status carried by an error the Node-API addon threw (property `nsStatus`), or undefined. */
export function nativeStatusOf(error: unknown): number | undefined {
  if (error instanceof Error && typeof (error as { nsStatus?: unknown }).nsStatus === 'number') {
    return (error as unknown as { nsStatus: number }).nsStatus;
  }
  return undefined;
}
