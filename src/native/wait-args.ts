/**
 * The argument checks shared by the parkers' wait(): done up front, on the calling JavaScript thread, so that a bad
 * argument is a rejected promise with ERR_INVALID_ARG naming it — never a TypeError thrown later from inside a
 * native callback (where Node reports it as an uncaught exception).
 */
import { NativeSidecarError, checkInteger, invalidArg } from '../errors.js';

/**
 * Checks the arguments of Parker.wait(view, index, expected, timeoutMs, signal): `view` a non-empty Int32Array (an
 * empty one is refused, which also refuses a view of a detached buffer), `index` an integer word index in it,
 * `expected` an integer that fits 32 bits (signed or unsigned), `timeoutMs` a number that is not NaN (negative or
 * Infinity: no limit), `signal` an AbortSignal or undefined. Returns the ERR_INVALID_ARG error for the first bad
 * argument, or undefined. Pure; any thread.
 */
export function waitArgsError(
  view: unknown,
  index: unknown,
  expected: unknown,
  timeoutMs: unknown,
  signal: unknown,
): NativeSidecarError | undefined {
  if (!(view instanceof Int32Array)) return invalidArg('view', 'an Int32Array', view);
  if (view.length === 0) {
    return new NativeSidecarError(
      'ERR_INVALID_ARG',
      "The argument 'view' must be an Int32Array with at least one element; received an empty one (is its buffer detached?).",
    );
  }
  try {
    checkInteger('index', index, 0, view.length - 1);
    checkInteger('expected', expected, -2147483648, 4294967295);
  } catch (error) {
    return error as NativeSidecarError;
  }
  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs)) {
    return invalidArg('timeoutMs', 'a number (negative or Infinity to wait without a timeout)', timeoutMs);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) return invalidArg('signal', 'an AbortSignal or undefined', signal);
  return undefined;
}
