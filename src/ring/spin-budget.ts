/**
 * The adaptive spin of the `'spin-then-park'` wait policy: how long one side of a ring polls before it parks, learnt
 * from its recent waits, between a floor and the policy's `spinMicros`.
 *
 * Why: a fixed spin is wrong both ways. Too short, and a reply that takes a little longer than the spin pays a park
 * and a sleeping wake-up (several microseconds each on a 2-core virtual machine) — the request round trip's tail. Too
 * long, and a side whose data does not come soon (an idle stream, or a peer that is not running because the machine
 * is overloaded) burns the whole spin every time, on a core the peer may need. So the budget starts at the policy's
 * spinMicros and, after each wait that had to park, moves toward what that wait needed:
 * - the data came within spinMicros of the wait's start (the spin was almost long enough): the budget becomes twice
 *   that wait's duration, capped at spinMicros — the next wait like it is caught by the spin;
 * - it came later (an idle gap, a descheduled peer): the budget halves, down to the floor.
 * A wait that the spin satisfies changes nothing. The floor keeps the first poll of a burst cheap to catch.
 *
 * Threading: the JavaScript thread of the Ring that owns it; plain fields, no shared memory.
 */

/** The smallest budget, in microseconds: long enough to catch a cross-thread hand-off (well under 1 µs), and cheap. */
export const MIN_SPIN_BUDGET_MICROS = 2;

export class SpinBudget {
  /** The spin of the next wait, in microseconds (0 … max). */
  micros: number;
  readonly #max: number;
  readonly #floor: number;

  /** `max` is the wait policy's spinMicros (integer ≥ 0); a budget of 0 stays 0. */
  constructor(max: number) {
    this.#max = max;
    this.#floor = Math.min(max, MIN_SPIN_BUDGET_MICROS);
    this.micros = max;
  }

  /** A wait that parked ended with data after `waitedMicros` in all (spin included). */
  afterPark(waitedMicros: number): void {
    if (waitedMicros <= this.#max) this.micros = Math.min(this.#max, Math.max(this.#floor, Math.ceil(2 * waitedMicros)));
    else this.micros = Math.max(this.#floor, Math.floor(this.micros / 2));
  }
}
