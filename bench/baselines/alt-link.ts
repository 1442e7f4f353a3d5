/**
 * What the `alternatives` suite asks of a message transport (bench/alternatives.ts): a started peer that echoes, or
 * counts, messages of one size. Implementations: alt-messages.ts (worker postMessage, MessageChannel, child_process
 * IPC), alt-unix-socket.ts, alt-original-ring.ts. All methods are called on the main JavaScript thread, one at a time.
 */
import type { CpuSides } from '../lib/cpu.js';
import type { OneWayPhase } from './alt-measure.js';

export interface MessageLink {
  /** Where the two sides run, for the CPU time per message. */
  readonly sides: CpuSides;
  /** The pid of the peer process now running (it changes when the mode does); undefined for a peer in this process. */
  readonly peerPid: number | undefined;
  /** Sends `payload` once and resolves when the peer's whole echo of it has arrived (decoded to bytes). */
  echo(payload: Uint8Array): Promise<void>;
  /**
   * Sends copies of `payload` for `durationNs` as fast as the transport takes them (bounded by a credit window where
   * the transport has no backpressure of its own) and resolves with the messages the peer received in that window.
   */
  oneWay(payload: Uint8Array, durationNs: number): Promise<OneWayPhase>;
  /** Ends the peer and releases everything; safe to call once after any failure. */
  close(): Promise<void>;
}
