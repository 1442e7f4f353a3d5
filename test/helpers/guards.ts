/**
 * Checks shared by the test files: no unhandled rejection during a file's tests, and the shape of an argument error.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { NativeSidecarError, SidecarError } from '../../src/index.js';

/** Installs, for the calling test file, a check that no promise rejected unhandled during its tests. */
export function guardUnhandledRejections(): void {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, [], 'no promise rejected unhandled during these tests');
  });
}

/** Asserts that `error` is a SidecarError ERR_INVALID_ARG whose message is a sentence naming `name` (and matches `more`). */
export function isArgumentError(name: string, more?: RegExp): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof SidecarError, `a SidecarError, not ${(error as Error)?.constructor?.name}: ${String(error)}`);
    assert.ok(error instanceof NativeSidecarError);
    assert.equal(error.code, 'ERR_INVALID_ARG');
    assert.ok(error.message.startsWith(`The argument '${name}' `), `the message names '${name}': ${error.message}`);
    assert.match(error.message, /[.?]$/, 'a full sentence');
    if (more !== undefined) assert.match(error.message, more);
    return true;
  };
}
