/**
 * A member of a SidecarPool, as the pool sees it: something that runs commands, can withdraw or kill one, and reports
 * its lifecycle. The pool's routing, queueing, cancellation and metrics work on this interface only, so that a member
 * of another kind (a worker on another machine, reached through a messaging engine) is a new implementation of it and
 * of MemberFactory — not a second pool. `LocalMember` is the kind there is today: one Sidecar of this process.
 *
 * Threading: everything runs on the JavaScript thread of the pool; hooks are called on it.
 */
import type { SidecarError } from '../errors.js';
import type { SidecarEvent } from '../sidecar/event-stream.js';
import { cancelRequest, requestWithId, type CancelOutcome, type IdentifiedRequest } from '../sidecar/internal.js';
import type { SidecarOptions } from '../sidecar/options.js';
import { Sidecar, type SidecarExit, type SidecarPoison, type StopOptions } from '../sidecar/sidecar.js';

export type MemberState = 'starting' | 'ready' | 'restarting' | 'stopping' | 'stopped';

/** What a member reports to its pool. Called on the pool's thread, never re-entrantly from a member method. */
export interface MemberHooks {
  /** The member is ready again after a restart (not called for its first start: start() resolving says that). */
  ready(member: PoolMember): void;
  /** The member ended a run: `exit.restarting` says whether it comes back (then `ready` follows) or ended for good. */
  exit(member: PoolMember, exit: SidecarExit): void;
  event(member: PoolMember, id: number, data: Uint8Array): void;
  log(member: PoolMember, level: number, text: string): void;
  /** A fault that rejected nothing (SidecarError). */
  error(member: PoolMember, error: SidecarError): void;
  /** A command killed the member twice and was quarantined by it. */
  poison(member: PoolMember, poison: SidecarPoison): void;
}

export interface PoolMember {
  /** Its place in the pool (0 … size.max − 1): keyed requests are routed by slot. */
  readonly slot: number;
  /** 'local' for a Sidecar of this process. */
  readonly kind: string;
  /** The process that runs its plugin (this process for a thread-mode member); -1 between runs; the last one once stopped. */
  readonly pid: number;
  readonly state: MemberState;
  /** Largest command payload in bytes. */
  readonly maxCommandBytes: number;
  /** Sends a request whose bytes the caller checked; never throws (a refusal is a rejected promise, id 0). */
  request(bytes: Uint8Array, type: number): IdentifiedRequest;
  /** See Sidecar[cancelRequest]: withdraws request `id`, or with `kill` stops the process running it. Never throws. */
  cancel(id: number, error: SidecarError, kill: boolean): CancelOutcome;
  /** One-way command; resolves once the member accepted it (in its ring). */
  send(bytes: Uint8Array, type: number): Promise<void>;
  /** Its events from now on (copies), ending when it stops. */
  events(): AsyncIterableIterator<SidecarEvent>;
  /** Whether the 'event' hook is called (copying every event costs; the pool turns it on only with a listener). */
  forwardEvents(on: boolean): void;
  /** Stops it (see Sidecar.stop): resolves with its final exit, never rejects. */
  stop(options: StopOptions): Promise<SidecarExit>;
}

/** Starts members of one kind. */
export interface MemberFactory {
  readonly kind: string;
  /** Starts the member of `slot`; rejects like Sidecar.start() (nothing is left behind). */
  start(slot: number, hooks: MemberHooks): Promise<PoolMember>;
}

/** One Sidecar of this process as a pool member. */
export class LocalMember implements PoolMember {
  readonly kind = 'local';
  #state: MemberState = 'ready';
  #forwarding = false;
  /** stop() was called. */
  #stopping = false;
  /** The pid of the last run, reported once the member has ended. */
  #lastPid: number;
  readonly #onEvent = (id: number, data: Uint8Array): void => this.hooks.event(this, id, data);

  private constructor(readonly slot: number, private readonly sidecar: Sidecar, private readonly hooks: MemberHooks) {
    this.#lastPid = sidecar.pid;
    sidecar.on('exit', (exit) => {
      this.#state = exit.restarting ? 'restarting' : 'stopped';
      hooks.exit(this, exit);
    });
    sidecar.on('ready', () => {
      this.#lastPid = sidecar.pid;
      if (this.#state !== 'restarting') return;
      this.#state = 'ready';
      hooks.ready(this);
    });
    sidecar.on('log', (level, text) => hooks.log(this, level, text));
    sidecar.on('error', (error) => hooks.error(this, error));
    sidecar.on('poison', (poison) => hooks.poison(this, poison));
  }

  static async start(slot: number, options: SidecarOptions, hooks: MemberHooks): Promise<LocalMember> {
    const sidecar = await Sidecar.start(options);
    return new LocalMember(slot, sidecar, hooks);
  }

  get pid(): number {
    const pid = this.sidecar.pid;
    return pid === -1 && this.#state === 'stopped' ? this.#lastPid : pid;
  }

  get state(): MemberState {
    // A restart during the stop's drain (a crash, a cancellation) does not make it take new work.
    return this.#stopping && this.#state !== 'stopped' ? 'stopping' : this.#state;
  }

  get maxCommandBytes(): number {
    return this.sidecar.maxCommandBytes;
  }

  request(bytes: Uint8Array, type: number): IdentifiedRequest {
    return this.sidecar[requestWithId](bytes, type);
  }

  cancel(id: number, error: SidecarError, kill: boolean): CancelOutcome {
    return this.sidecar[cancelRequest](id, error, kill);
  }

  send(bytes: Uint8Array, type: number): Promise<void> {
    return this.sidecar.send(bytes, { type });
  }

  events(): AsyncIterableIterator<SidecarEvent> {
    return this.sidecar.events();
  }

  forwardEvents(on: boolean): void {
    if (on === this.#forwarding) return;
    this.#forwarding = on;
    if (on) this.sidecar.on('event', this.#onEvent);
    else this.sidecar.off('event', this.#onEvent);
  }

  stop(options: StopOptions): Promise<SidecarExit> {
    this.#stopping = true;
    // A thread-mode stop that times out rejects (the thread cannot be killed): reported as an exit, never a rejection.
    return this.sidecar.stop(options).catch((error: unknown) => ({
      reason: 'stop-timeout' as const,
      code: null,
      signal: null,
      restarting: false,
      dropped: 0,
      message: (error as Error).message,
    }));
  }
}

/** The factory of LocalMembers: each one a Sidecar started with `options`. */
export function localMembers(options: SidecarOptions): MemberFactory {
  return {
    kind: 'local',
    start: (slot, hooks) => LocalMember.start(slot, options, hooks),
  };
}
