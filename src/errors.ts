/**
 * The one errors module. Native code returns codes; the JavaScript boundary turns them into these exceptions.
 * Every error has a stable `code` (match on it, not on the message) and a message that is a full sentence naming
 * the argument or the resource at fault. Some codes also carry `errno` (and ERR_SYSTEM `syscall`), see
 * NativeSidecarError.errno.
 */
export type ErrorCode =
  | 'ERR_INVALID_ARG' // an argument has the wrong type, range or shape, or an options object has a key that is no option
  | 'ERR_RING_CORRUPT' // shared ring memory failed validation (a peer wrote garbage)
  | 'ERR_RING_TOO_BIG' // a record is larger than the ring's max_payload
  | 'ERR_RING_CLOSED' // the ring (or this endpoint) was closed
  | 'ERR_REGION_INVALID' // a shared region does not start with a valid header
  | 'ERR_REGION_CLOSED' // the region was closed and its memory unmapped
  | 'ERR_SYSTEM' // a system call failed; see `errno` (positive, e.g. 28 = ENOSPC) and `syscall`
  | 'ERR_TIMEOUT' // a wait or request did not finish in time
  | 'ERR_ABORTED' // an AbortSignal fired
  | 'ERR_ADDON_MISSING' // the native addon is not built
  | 'ERR_SIDECAR_START' // a sidecar could not start (plugin missing, not a plugin, ABI mismatch, init failed)
  | 'ERR_SIDECAR_STOPPED' // the sidecar was stopped or is stopping
  | 'ERR_SIDECAR_CRASHED' // the sidecar process or thread died
  | 'ERR_CALLBACK_RELEASED' // a native callback handle was called after release
  | 'ERR_CALLBACK_THREW' // a JavaScript callback threw: a showcase callback called by a native thread (reported to that thread), or a Sidecar host callback (an 'error' event)
  | 'ERR_DEADLOCK' // a blocking cross-thread call would deadlock the JavaScript thread
  | 'ERR_INVALID_STATE' // a method was called in a state that does not allow it (closed, busy, commit() without claim())
  | 'ERR_SIDECAR_PLUGIN' // the plugin's process returned non-zero for a request without replying (`errno`: that value)
  | 'ERR_SIDECAR_POISON' // the command killed the sidecar twice (once more when redelivered) and was quarantined
  | 'ERR_QUEUE_FULL' // the sidecar's in-memory backlog is at its bound (options.maxQueue / maxQueueBytes)
  | 'ERR_PEER_REFUSED' // a region handover peer's uid (SO_PEERCRED) is not allowed, or it refused us
  | 'ERR_PLUGIN_UNSAFE' // the plugin file could be replaced by someone else (owner, group/world-writable, not a file)
  | 'ERR_SANDBOX_UNAVAILABLE' // a confinement layer the sandbox requires is missing from this kernel (docs/security.md)
  | 'ERR_SCHEDULING_DENIED' // the kernel refused a Sidecar's scheduling option (nice, policy/priority, CPUs); `errno` says why
  | 'ERR_BUFFER_INVALID' // a buffer pool or a handle into it failed validation (a peer forged it), or a buffer was used after it was sent or released
  | 'ERR_POOL_EXHAUSTED'; // a buffer pool has no room for the buffer (its reserve or max_buffers is reached)

/** The options of every error constructor. */
export interface NativeSidecarErrorOptions {
  /** The error this one reports (an exception a callback threw, the native error it was made from). */
  cause?: unknown;
  /** See {@link NativeSidecarError.errno}. */
  errno?: number;
  /** See {@link NativeSidecarError.syscall}. */
  syscall?: string;
}

/**
 * The base class of every error this library throws, rejects with or emits. Subclasses say which layer it comes
 * from ({@link RingError}, {@link RegionError}, {@link SidecarError}, {@link InteropError}); `code` says what
 * happened.
 */
export class NativeSidecarError extends Error {
  /** What went wrong, stable across versions: match on it, not on the message. */
  readonly code: ErrorCode;
  /**
   * A number that comes with some codes, absent otherwise: ERR_SYSTEM — the errno of the failed system call (a
   * positive Linux errno value, e.g. 28 for ENOSPC; `syscall` names the call); ERR_SIDECAR_START after a failing
   * init — the value the plugin's init returned; ERR_SIDECAR_PLUGIN — the value the plugin's process returned for
   * the request; ERR_SCHEDULING_DENIED — the errno of the refusing call (1 EPERM, 13 EACCES, 22 EINVAL).
   */
  readonly errno?: number;
  /** ERR_SYSTEM: the name of the system call that failed (e.g. 'memfd_create'); absent otherwise. */
  readonly syscall?: string;

  constructor(code: ErrorCode, message: string, options?: NativeSidecarErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options?.errno !== undefined) this.errno = options.errno;
    if (options?.syscall !== undefined) this.syscall = options.syscall;
  }
}

/** Errors of the ring and its shared memory. */
export class RingError extends NativeSidecarError {}
/** Errors of shared regions (creation, opening, validation, mapping). */
export class RegionError extends NativeSidecarError {}
/** Errors of the Sidecar lifecycle and its requests. */
export class SidecarError extends NativeSidecarError {}
/** Errors of buffer pools and their handles (docs/wire-format.md §9). */
export class BufferPoolError extends NativeSidecarError {}
/** Errors of the interop showcase (callbacks, tables, cross-thread calls). */
export class InteropError extends NativeSidecarError {}

/** An error class: NativeSidecarError or one of its subclasses (argument errors are made of the caller's class). */
export type ErrorClass<T extends NativeSidecarError = NativeSidecarError> = new (
  code: ErrorCode,
  message: string,
  options?: NativeSidecarErrorOptions,
) => T;

/** ERR_INVALID_ARG naming `name`, of class `Kind` (default NativeSidecarError): "The argument 'name' must be …". */
export function invalidArg<T extends NativeSidecarError = NativeSidecarError>(
  name: string,
  expectation: string,
  actual: unknown,
  Kind?: ErrorClass<T>,
): T {
  const K = (Kind ?? NativeSidecarError) as ErrorClass<T>;
  return new K('ERR_INVALID_ARG', `The argument '${name}' must be ${expectation}; received ${describe(actual)}.`);
}

/** Checks that `value` is an integer in [min, max]; throws ERR_INVALID_ARG (of class `Kind`) naming `name` otherwise. */
export function checkInteger(name: string, value: unknown, min: number, max: number, Kind?: ErrorClass, hint = ''): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArg(name, `an integer from ${min} to ${max}${hint}`, value, Kind);
  }
  return value;
}

/** Native errors carry `code`, `errno` and `syscall` properties; this re-throws them as the given class. */
export function fromNative<T extends NativeSidecarError>(Kind: ErrorClass<T>, error: unknown): T | unknown {
  if (error instanceof NativeSidecarError || !(error instanceof Error)) return error;
  const e = error as Error & { code?: string; errno?: number; syscall?: string };
  if (typeof e.code !== 'string' || !e.code.startsWith('ERR_')) return error;
  const options: NativeSidecarErrorOptions = { cause: error };
  if (typeof e.errno === 'number') options.errno = e.errno;
  if (typeof e.syscall === 'string') options.syscall = e.syscall;
  return new Kind(e.code as ErrorCode, e.message, options);
}

/**
 * `error` as an error of class `Kind`: itself when it is one already; a NativeSidecarError of another class, or a
 * native error with an ERR_ code, becomes a `Kind` with the same code, message, errno and syscall (`cause`: the
 * original). Anything else (not an error of this library: a bug) is returned as it is.
 */
export function asErrorClass<T extends NativeSidecarError>(Kind: ErrorClass<T>, error: unknown): T | unknown {
  if (error instanceof Kind) return error;
  if (!(error instanceof NativeSidecarError)) return fromNative(Kind, error);
  const options: NativeSidecarErrorOptions = { cause: error };
  if (error.errno !== undefined) options.errno = error.errno;
  if (error.syscall !== undefined) options.syscall = error.syscall;
  return new Kind(error.code, error.message, options);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  const name = (value as object).constructor?.name;
  return name ? `an instance of ${name}` : 'an object';
}
