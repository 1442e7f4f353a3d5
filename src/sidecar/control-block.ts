/**
 * The host's side of the sidecar control block (docs/wire-format.md §8). The host writes the descriptor (block 0)
 * before the region is shared and reads the status blocks, which the sidecar writes — so every value read here is
 * untrusted: states and reasons are range-checked and the error text is clamped to its area.
 *
 * Threading: the JavaScript thread that owns the Sidecar. Reads use Atomics (sequentially consistent, so at least
 * the acquire that pairs with the runtime's release store of `state` in runtime.c set_state()).
 */
import {
  CONTROL_COMMAND_SEGMENT_OFFSET,
  CONTROL_COMPLETED_OFFSET,
  CONTROL_REDELIVERED_OFFSET,
  CONTROL_STARTED_OFFSET,
  CONTROL_SANDBOX_OFFSET,
  CONTROL_LANDLOCK_ABI_OFFSET,
  CONTROL_MESSAGES_SENT_OFFSET,
  CONTROL_REPLIES_SENT_OFFSET,
  CONTROL_SIDECAR_INDEX_OFFSET,
  CONTROL_SCHED_OFFSET,
  CONTROL_CONFIG_LENGTH_OFFSET,
  CONTROL_CONFIG_OFFSET,
  CONTROL_ERROR_CODE_OFFSET,
  CONTROL_ERROR_LENGTH_OFFSET,
  CONTROL_ERROR_OFFSET,
  CONTROL_EVENT_SEGMENT_OFFSET,
  CONTROL_EXIT_REASON_OFFSET,
  CONTROL_HEADER_SIZE_OFFSET,
  CONTROL_HEARTBEAT_OFFSET,
  CONTROL_HOST_FLAGS_OFFSET,
  CONTROL_HOST_PID_OFFSET,
  CONTROL_IN_PLUGIN_OFFSET,
  CONTROL_MAGIC_OFFSET,
  CONTROL_PID_OFFSET,
  CONTROL_PROCESSED_OFFSET,
  CONTROL_STATE_OFFSET,
  CONTROL_VERSION_OFFSET,
  EXIT_NONE,
  EXIT_MAX,
  SANDBOX_FDS_CLOSED,
  SANDBOX_LIMITS,
  SCHED_CPUS,
  SCHED_NICE,
  SCHED_POLICY,
  SIDECAR_CONTROL_SIZE,
  SIDECAR_ERROR_MAX,
  SIDECAR_MAGIC,
  SIDECAR_VERSION,
  STATE_CREATED,
  STATE_FAILED,
} from './layout.js';

const I32 = Int32Array.BYTES_PER_ELEMENT;
const STATUS_WORDS = [
  CONTROL_STATE_OFFSET,
  CONTROL_HEARTBEAT_OFFSET,
  CONTROL_IN_PLUGIN_OFFSET,
  CONTROL_PID_OFFSET,
  CONTROL_EXIT_REASON_OFFSET,
  CONTROL_ERROR_CODE_OFFSET,
  CONTROL_PROCESSED_OFFSET,
  CONTROL_STARTED_OFFSET,
  CONTROL_COMPLETED_OFFSET,
  CONTROL_SANDBOX_OFFSET,
  CONTROL_LANDLOCK_ABI_OFFSET,
  CONTROL_MESSAGES_SENT_OFFSET,
  CONTROL_REPLIES_SENT_OFFSET,
  CONTROL_SCHED_OFFSET,
] as const;

export interface ControlDescriptor {
  commandSegment: number;
  eventSegment: number;
  config: Uint8Array;
  hostFlags: number;
  hostPid: number;
  /** Leading commands of the command ring that are redeliveries (wire-format §8.3): 0 or 1. */
  redelivered: number;
  /** The host's number for this Sidecar, the same in every region of it (§8.4, informational). */
  sidecarIndex: number;
}

export class ControlBlock {
  private readonly words: Int32Array;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;

  /** `buffer`/`byteOffset`: the control block segment of a region; `size` its byte size. */
  constructor(buffer: ArrayBuffer, byteOffset: number, size: number) {
    this.words = new Int32Array(buffer, byteOffset, SIDECAR_CONTROL_SIZE / I32);
    this.view = new DataView(buffer, byteOffset, size);
    this.bytes = new Uint8Array(buffer, byteOffset, size);
  }

  /**
   * Writes block 0's descriptor and the config bytes. Creator only, before the region is shared (§1: the handover
   * orders it). The host statistics (block 0's second line, §8.4) start as the zeroes of a fresh memfd.
   */
  writeDescriptor(d: ControlDescriptor): void {
    const v = this.view;
    v.setUint32(CONTROL_MAGIC_OFFSET, SIDECAR_MAGIC, true);
    v.setUint16(CONTROL_VERSION_OFFSET, SIDECAR_VERSION, true);
    v.setUint16(CONTROL_HEADER_SIZE_OFFSET, SIDECAR_CONTROL_SIZE, true);
    v.setUint32(CONTROL_COMMAND_SEGMENT_OFFSET, d.commandSegment, true);
    v.setUint32(CONTROL_EVENT_SEGMENT_OFFSET, d.eventSegment, true);
    v.setUint32(CONTROL_CONFIG_LENGTH_OFFSET, d.config.byteLength, true);
    v.setUint32(CONTROL_HOST_FLAGS_OFFSET, d.hostFlags, true);
    v.setUint32(CONTROL_HOST_PID_OFFSET, d.hostPid, true);
    v.setUint32(CONTROL_REDELIVERED_OFFSET, d.redelivered, true);
    v.setUint32(CONTROL_SIDECAR_INDEX_OFFSET, d.sidecarIndex, true);
    this.bytes.set(d.config, CONTROL_CONFIG_OFFSET);
    this.resetStatus();
  }

  /**
   * Clears the status blocks before a sidecar (re)starts. Only while no sidecar runs on this region (at creation,
   * or after the previous process exited): the status blocks are the sidecar's to write otherwise.
   */
  resetStatus(): void {
    for (const offset of STATUS_WORDS) Atomics.store(this.words, offset / I32, 0);
    Atomics.store(this.words, CONTROL_STATE_OFFSET / I32, STATE_CREATED);
    this.view.setUint32(CONTROL_ERROR_LENGTH_OFFSET, 0, true);
  }

  get state(): number {
    return Atomics.load(this.words, CONTROL_STATE_OFFSET / I32) >>> 0;
  }
  get heartbeat(): number {
    return Atomics.load(this.words, CONTROL_HEARTBEAT_OFFSET / I32) >>> 0;
  }
  get inPlugin(): number {
    return Atomics.load(this.words, CONTROL_IN_PLUGIN_OFFSET / I32) >>> 0;
  }
  get pid(): number {
    return Atomics.load(this.words, CONTROL_PID_OFFSET / I32) >>> 0;
  }
  get processed(): number {
    return Atomics.load(this.words, CONTROL_PROCESSED_OFFSET / I32) >>> 0;
  }
  /** Commands the sidecar took from the command ring (§8.3; u32, untrusted: widen it with CommandJournal.widen). */
  get started(): number {
    return Atomics.load(this.words, CONTROL_STARTED_OFFSET / I32) >>> 0;
  }
  /** Commands the sidecar finished (§8.3; u32, untrusted). Seq_cst load: at least the acquire that pairs with the
   * runtime's release store of `completed` after each command. */
  get completed(): number {
    return Atomics.load(this.words, CONTROL_COMPLETED_OFFSET / I32) >>> 0;
  }
  /** NS_SIDECAR_EXIT_* as written by the sidecar; EXIT_NONE for a value outside the known range. */
  get exitReason(): number {
    const r = Atomics.load(this.words, CONTROL_EXIT_REASON_OFFSET / I32) >>> 0;
    return r <= EXIT_MAX ? r : EXIT_NONE;
  }
  /** The SANDBOX_* layers the sidecar process reported (untrusted: unknown bits are dropped). */
  get sandbox(): number {
    const bits = Atomics.load(this.words, CONTROL_SANDBOX_OFFSET / I32) >>> 0;
    return bits & (SANDBOX_LIMITS * 2 - SANDBOX_FDS_CLOSED); // every bit from the lowest layer to the highest
  }
  /** The Landlock ABI version the sidecar process found (0: none; clamped to 0…255, untrusted). */
  get landlockAbi(): number {
    const v = Atomics.load(this.words, CONTROL_LANDLOCK_ABI_OFFSET / I32) >>> 0;
    return v <= 255 ? v : 0;
  }
  /** The SCHED_* parts of the requested scheduling the runtime thread applied (untrusted: unknown bits are dropped). */
  get sched(): number {
    return (Atomics.load(this.words, CONTROL_SCHED_OFFSET / I32) >>> 0) & (SCHED_CPUS | SCHED_POLICY | SCHED_NICE);
  }
  /** The value plugin init returned (signed), or 0; the errno of a refused scheduling call (EXIT_SCHEDULING). */
  get errorCode(): number {
    return Atomics.load(this.words, CONTROL_ERROR_CODE_OFFSET / I32);
  }

  /**
   * The sidecar's failure sentence, or undefined when it did not report one. Read only after `state` showed FAILED
   * (the seq_cst load of state pairs with the runtime's release store, which follows the text).
   */
  errorMessage(): string | undefined {
    if (this.state !== STATE_FAILED) return undefined;
    const length = Math.min(this.view.getUint32(CONTROL_ERROR_LENGTH_OFFSET, true), SIDECAR_ERROR_MAX);
    if (length === 0) return undefined;
    // Copy first: the text lives in shared memory, and decoding must not see it change.
    const text = new TextDecoder('utf-8', { fatal: false }).decode(this.bytes.slice(CONTROL_ERROR_OFFSET, CONTROL_ERROR_OFFSET + length));
    return text.replace(/[\u0000-\u001f]/g, ' ');
  }
}
