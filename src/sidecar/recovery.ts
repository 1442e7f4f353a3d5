/**
 * What a restart carries over from a dead sidecar's command ring (docs/reliability.md, wire-format §8.3). Pure
 * planning: reads the dead channel (its sidecar is gone, so nothing changes under it) and the host's journal, decides
 * the fate of every command still in the ring, and changes nothing — the Sidecar applies the plan.
 *
 * The rules, in ring order, for each command the journal says was written and the progress counters say did not
 * finish (ordinal ≥ completed):
 * - withdrawn (claim word WITHDRAWN): dropped — its request was already rejected;
 * - a request no longer pending (answered before the crash, or rejected by its timeout or signal): dropped — a settled
 *   request never runs again;
 * - the one inside process() when the sidecar died (started = completed + 1, ordinal = completed): redelivered,
 *   flagged, unless it already was a redelivery — then it is poison: quarantined, never delivered again;
 * - anything else: carried over as it was — a redelivery that the dead sidecar never took (it died in its start)
 *   stays flagged, so that it is still poison if it kills the next one.
 * Commands the ring walk could not recover (a record failed validation, so it and everything after it are unreadable)
 * are reported as lost. Commands below `completed` finished; the Sidecar rejects their requests if no reply came.
 *
 * Threading: the JavaScript thread of the Sidecar.
 */
import type { RingError } from '../errors.js';
import type { SidecarChannel } from './channel.js';
import type { CommandJournal } from './journal.js';
import { COMMAND_STARTED_BIT, COMMAND_WITHDRAWN, MSG_ARG0_OFFSET, MSG_ARG1_OFFSET, MSG_COMMAND, SIDECAR_MSG_HEADER_SIZE } from './layout.js';

const WORD = Uint32Array.BYTES_PER_ELEMENT;

export interface CarriedCommand {
  type: number;
  /** The host's claim value: 0 for a send, the request id otherwise. */
  id: number;
  /** The command bytes (a copy owned by the plan). */
  data: Uint8Array;
  /** It was inside process() when the sidecar died: the next sidecar gets it flagged NS_COMMAND_REDELIVERED. */
  redelivered: boolean;
}

export interface RecoveryPlan {
  /** To write, in order, at the start of the new command ring. Only the first may be `redelivered`. */
  carried: CarriedCommand[];
  /** The command that killed the sidecar a second time (after its redelivery), quarantined. */
  poison: { type: number; id: number; data: Uint8Array } | undefined;
  /** Ordinals below this finished (processed, or skipped as withdrawn). */
  completed: number;
  /** Commands that could not be read back from the ring: request ids (0 for sends), in ring order. */
  lost: number[];
  /** A sentence on what was wrong with the dead ring or its counters, when something was. */
  problem: string | undefined;
}

/**
 * Plans the recovery of `ch` (whose sidecar has ended for good). `firstWasRedelivered`: the channel's first command was
 * itself a redelivery. `isPending(id)`: whether request `id` still waits for its reply.
 */
export function planRecovery(
  ch: SidecarChannel,
  journal: CommandJournal,
  firstWasRedelivered: boolean,
  isPending: (id: number) => boolean,
): RecoveryPlan {
  const written = journal.written;
  const salvage = ch.commands.salvage();
  // Where each readable record's claim word is: the journal knows the claim word of every ordinal, which ties the
  // records the walk found to ordinals without trusting anything the sidecar wrote.
  const byClaimWord = new Map<number, { type: number; payload: Uint8Array }>();
  for (const record of salvage.records) byClaimWord.set((record.byteOffset + MSG_ARG1_OFFSET) / WORD, record);
  let problem = salvage.error === undefined ? undefined : describe(salvage.error);

  let completed = journal.widen(ch.control.completed);
  const started = journal.widen(ch.control.started);
  let suspect = -1;
  if (completed === undefined || started === undefined || (started !== completed && started !== completed + 1)) {
    // Counters that cannot be right: fall back on the ring itself. The oldest record still in it is the first that
    // may not have finished (at-least-once for that batch), and nothing is treated as having been inside process().
    problem = joinProblem(problem, `the sidecar's progress counters (started ${ch.control.started}, completed ${ch.control.completed}) do not match the ${written} commands written`);
    completed = written - salvage.records.length;
    if (salvage.error !== undefined) completed = written; // where the readable prefix starts is unknown: nothing is trusted
  } else if (started === completed + 1) {
    suspect = completed;
  }

  const plan: RecoveryPlan = { carried: [], poison: undefined, completed, lost: [], problem };
  for (let ordinal = completed; ordinal < written; ordinal++) {
    const id = journal.idOf(ordinal);
    const claimWord = journal.claimWordOf(ordinal);
    const record = byClaimWord.get(claimWord);
    if (record === undefined || record.type !== MSG_COMMAND || record.payload.byteLength < SIDECAR_MSG_HEADER_SIZE) {
      plan.lost.push(id);
      continue;
    }
    const claim = Atomics.load(ch.words, claimWord) >>> 0;
    if (claim === COMMAND_WITHDRAWN) continue;
    if (id !== 0 && !isPending(id)) continue;
    const type = new DataView(record.payload.buffer, record.payload.byteOffset).getUint32(MSG_ARG0_OFFSET, true);
    const data = record.payload.slice(SIDECAR_MSG_HEADER_SIZE);
    if (ordinal === suspect) {
      if (ordinal === 0 && firstWasRedelivered) {
        plan.poison = { type, id, data };
        continue;
      }
      plan.carried.push({ type, id, data, redelivered: plan.carried.length === 0 });
      continue;
    }
    if ((claim & COMMAND_STARTED_BIT) !== 0 && claim !== (id | COMMAND_STARTED_BIT)) {
      plan.problem = joinProblem(plan.problem, `command ${ordinal} carried the claim word 0x${claim.toString(16)}, which the host never wrote`);
    }
    // A redelivery whose sidecar died before it took the command (killed or failed in its start) is still one.
    plan.carried.push({ type, id, data, redelivered: ordinal === 0 && firstWasRedelivered });
  }
  return plan;
}

function describe(error: RingError): string {
  return error.message.replace(/\.$/, '');
}

function joinProblem(a: string | undefined, b: string): string {
  return a === undefined ? b : `${a}; ${b}`;
}
