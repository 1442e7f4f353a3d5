/**
 * Detects a hung plugin call from the control block: the runtime bumps `heartbeat` on every entry into and return
 * from a plugin call (and while it waits for the host), and sets `in_plugin` while a call runs. A call that keeps
 * `in_plugin` set with an unchanged heartbeat for `timeoutMs` is hung. An idle sidecar (no call running) is never
 * hung, however long it sleeps.
 *
 * Threading: a timer on the Sidecar's JavaScript thread, unref'd (it never keeps the process alive by itself).
 * Detection happens within timeoutMs + timeoutMs/4.
 */
import type { ControlBlock } from './control-block.js';
import { CALL_NONE } from './layout.js';

export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private lastBeat = -1;
  private lastChange = 0;
  private fired = false;

  constructor(
    private readonly control: ControlBlock,
    private readonly timeoutMs: number,
    private readonly onHung: (call: number, stuckMs: number) => void,
  ) {}

  start(): void {
    this.stop();
    this.fired = false;
    this.lastBeat = -1;
    this.timer = setInterval(() => this.check(), Math.max(1, Math.floor(this.timeoutMs / 4))).unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const now = performance.now();
    const beat = this.control.heartbeat;
    const call = this.control.inPlugin;
    if (beat !== this.lastBeat || call === CALL_NONE) {
      this.lastBeat = beat;
      this.lastChange = now;
      this.fired = false;
      return;
    }
    const stuck = now - this.lastChange;
    if (stuck >= this.timeoutMs && !this.fired) {
      this.fired = true; // once per hang: a new heartbeat re-arms it
      this.onHung(call, Math.round(stuck));
    }
  }
}
