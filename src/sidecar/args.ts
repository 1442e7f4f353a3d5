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
