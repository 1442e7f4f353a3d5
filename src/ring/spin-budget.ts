/**
 * The adaptive spin of the `'spin-then-park'` wait policy: how long one side of a ring polls before it parks, learnt
 * from its recent waits, between a floor and the policy's `spinMicros`.
 *
 * Why: a fixed spin is wrong both ways. Too short, and a reply that takes a little longer than the spin pays a park
 * and a sleeping wake-up (several microseconds each on a 2-core virtual machine) — the request round trip's tail. Too
 * long, and a side whose data does not come soon (an idle stream, a peer that is not running because the machine
 * is overloaded, or a peer that runs on the SAME core and gets it only when this side stops polling) burns the whole
 * spin every time, on the core the peer needs. So the budget starts at the policy's spinMicros and, after each wait
 * that had to park, moves toward what that wait needed:
 * - the data came within spinMicros of the wait's start (the spin was almost long enough): the budget becomes twice
 *   that wait's duration, capped at spinMicros — the next wait like it is caught by the spin;
 * - but if the previous wait had grown the budget that way and this one still had to park, growing did not help
 *   (typically a peer that cannot run while this side spins): the budget drops to the floor;
 * - the data came later than spinMicros (an idle gap, a descheduled peer): the budget halves, down to the floor.
 * A wait that the spin satisfies changes nothing (and confirms a growth). The floor keeps a hand-off between two
 * running threads cheap to catch. Measured effect: `npm run bench -- sidecar scheduling` (request round trips with
 * default options on an idle and a loaded machine).
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
  /** The last wait parked and set the budget from its duration; no wait has confirmed that it helped yet. */
  #grew = false;

  /** `max` is the wait policy's spinMicros (integer ≥ 0); a budget of 0 stays 0. */
  constructor(max: number) {
    this.#max = max;
    this.#floor = Math.min(max, MIN_SPIN_BUDGET_MICROS);
    this.micros = max;
  }

  /** A wait that the spin satisfied. */
  afterSpin(): void {
    this.#grew = false;
  }

  /** A wait that parked ended with data after `waitedMicros` in all (spin included). */
  afterPark(waitedMicros: number): void {
    if (waitedMicros > this.#max) {
      this.micros = Math.max(this.#floor, Math.floor(this.micros / 2));
      this.#grew = false;
    } else if (this.#grew) {
      this.micros = this.#floor;
      this.#grew = false;
    } else {
      this.micros = Math.min(this.#max, Math.max(this.#floor, Math.ceil(2 * waitedMicros)));
      this.#grew = true;
    }
  }
}
