/**
 * A place in a SidecarPool (0 … size.max − 1) and what the pool keeps about the member in it: the tasks it holds, the
 * tasks waiting for it by key, and its metrics. A slot outlives its members: when one is stopped for idleness or
 * replaced after its restart budget, the next member of the slot keeps serving the same keys.
 *
 * Threading: the JavaScript thread of the pool.
 */
import type { SidecarExit } from '../sidecar/sidecar.js';
import type { PoolMember } from './member.js';
import type { RouteCandidate } from './router.js';
import { BusyClock, DurationHistogram } from './metrics.js';
import { TaskQueue, type PoolTask } from './task.js';

export class MemberSlot implements RouteCandidate {
  /** The member in it (undefined while empty or while one is starting). */
  member: PoolMember | undefined = undefined;
  /** A member is being started for this slot. */
  starting: Promise<void> | undefined = undefined;
  /** Requests dispatched to the member and not settled on it, in dispatch order (cancelled ones that still run included). */
  readonly inFlight = new Set<PoolTask>();
  /** Tasks whose key routes them here, waiting for the member. */
  readonly keyed = new TaskQueue();
  /** The member was killed to stop a cancelled request and is not ready again yet: nothing new goes to it. */
  replacing = false;
  /** The pool is stopping this member because it was idle. */
  retiring = false;
  /** pool.stop() is stopping this member (its exit's `dropped` is counted there). */
  stopping = false;
  idleTimer: NodeJS.Timeout | undefined = undefined;
  /** The exit of the run a restart under way follows (reported with 'restarted'). */
  lastExit: SidecarExit | undefined = undefined;

  // Metrics of the current member (reset when a new member takes the slot).
  completed = 0;
  failed = 0;
  restarts = 0;
  cancelKills = 0;
  poisoned = 0;
  runTime = new DurationHistogram();
  waitTime = new DurationHistogram();
  busy = new BusyClock();
  /** performance.now() when the current member started. */
  since = 0;

  constructor(readonly index: number) {}

  /** Requests in flight (the router's measure of load). */
  get load(): number {
    return this.inFlight.size;
  }

  /** Ready for new work: a member that is ready, not being replaced or retired. */
  get ready(): boolean {
    return this.member !== undefined && this.member.state === 'ready' && !this.replacing && !this.retiring;
  }

  /** Holds or is about to hold a member that counts toward the pool's size. */
  get live(): boolean {
    return (this.member !== undefined && this.member.state !== 'stopped' && !this.retiring) || this.starting !== undefined;
  }

  resetMetrics(now: number): void {
    this.completed = 0;
    this.failed = 0;
    this.restarts = 0;
    this.cancelKills = 0;
    this.poisoned = 0;
    this.runTime.destroy();
    this.runTime = new DurationHistogram();
    this.waitTime.destroy();
    this.waitTime = new DurationHistogram();
    this.busy = new BusyClock();
    this.since = now;
  }

  /** Adds or removes an in-flight task, keeping the busy clock. */
  hold(task: PoolTask, now: number): void {
    const before = this.inFlight.size;
    this.inFlight.add(task);
    this.busy.change(before, this.inFlight.size, now);
  }

  release(task: PoolTask, now: number): boolean {
    const before = this.inFlight.size;
    if (!this.inFlight.delete(task)) return false;
    this.busy.change(before, this.inFlight.size, now);
    return true;
  }
}
