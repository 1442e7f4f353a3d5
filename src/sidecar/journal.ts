/**
 * The host's record of the commands it wrote into the current command ring (wire-format §8.3): for each ordinal (the
 * n-th command written, from 0), the request id it carries (0 for a send) and where its claim word is. Host memory
 * only — never shared — so it stays trustworthy whatever the sidecar writes: recovery uses it to tell which commands
 * a corrupt ring lost, and withdrawal uses it to find a command's claim word without walking the ring.
 *
 * Bounded: a ring of `capacity` data bytes holds at most capacity / MIN_RECORD commands at once, and an ordinal is
 * looked up only while its command is still in the ring (ordinal ≥ completed), so the entries form a circular buffer
 * of that many slots (a power of two). Ordinals are JavaScript numbers (exact up to 2^53); the sidecar's counters are
 * u32 and are widened against `written` by `widen()`.
 *
 * Threading: the JavaScript thread of the Sidecar.
 */
import { RECORD_HEADER_SIZE } from '../ring/layout.js';
import { SIDECAR_MSG_HEADER_SIZE } from './layout.js';

/** The smallest command record: a ring record header and an empty message (8 + 8 bytes, already 8-aligned). */
const MIN_RECORD = RECORD_HEADER_SIZE + SIDECAR_MSG_HEADER_SIZE;

export class CommandJournal {
  /** Commands written into this ring so far; the next command's ordinal. */
  written = 0;
  private readonly ids: Uint32Array;
  /** Index of the command's claim word (arg1) in the region's Uint32Array view. */
  private readonly words: Int32Array;
  private readonly mask: number;

  constructor(capacity: number) {
    const slots = Math.max(1, capacity / MIN_RECORD);
    this.ids = new Uint32Array(slots);
    this.words = new Int32Array(slots);
    this.mask = slots - 1;
  }

  /** Most commands the ring can hold at once. */
  get slots(): number {
    return this.mask + 1;
  }

  /** Records the command just written; returns its ordinal. Hot path: two stores. */
  record(id: number, claimWord: number): number {
    const ordinal = this.written++;
    const i = ordinal & this.mask;
    this.ids[i] = id;
    this.words[i] = claimWord;
    return ordinal;
  }

  /** Request id (0: a send) of `ordinal`, which must still be in the ring. */
  idOf(ordinal: number): number {
    return this.ids[ordinal & this.mask]!;
  }

  /** Index of the claim word of `ordinal`, which must still be in the ring. */
  claimWordOf(ordinal: number): number {
    return this.words[ordinal & this.mask]!;
  }

  /**
   * Widens a u32 counter of the sidecar (`started`, `completed`) to an ordinal, or returns undefined when it cannot
   * be one: it must lie in [written − slots, written] (the commands still in the ring, and no more than were written).
   */
  widen(counter: number): number | undefined {
    const behind = (this.written - counter) % 2 ** 32;
    const gap = behind < 0 ? behind + 2 ** 32 : behind;
    if (gap > this.slots || gap > this.written) return undefined;
    return this.written - gap;
  }
}
