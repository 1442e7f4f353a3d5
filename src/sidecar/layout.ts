/**
 * The sidecar control block and the messages on a sidecar's two rings (docs/wire-format.md §8), as named constants.
 * Mirrors the sidecar section of native/include/native_sidecar/layout.h; test/sidecar-layout.test.ts compares both
 * (through native/test/sidecar_layout_dump.c). Offsets are bytes from the start of the control block segment.
 */
export const SIDECAR_MAGIC = 0x4353534e; // "NSSC"
export const SIDECAR_VERSION = 1;
export const SIDECAR_CONTROL_SIZE = 512;
export const SIDECAR_ERROR_MAX = 248;
export const SIDECAR_HOST_WANTS_PROCESS = 1;
export const PLUGIN_ABI_VERSION = 1;

// Block 0: descriptor (bytes 0-63, host-written before the region is shared, read-only afterwards) and the host
// statistics (bytes 64-127, below).
export const CONTROL_MAGIC_OFFSET = 0;
export const CONTROL_VERSION_OFFSET = 4;
export const CONTROL_HEADER_SIZE_OFFSET = 6;
export const CONTROL_COMMAND_SEGMENT_OFFSET = 8;
export const CONTROL_EVENT_SEGMENT_OFFSET = 12;
export const CONTROL_CONFIG_LENGTH_OFFSET = 16;
export const CONTROL_HOST_FLAGS_OFFSET = 20;
export const CONTROL_HOST_PID_OFFSET = 24;
/** The first this-many commands of the command ring are redeliveries (0 or 1, wire-format §8.3). */
export const CONTROL_REDELIVERED_OFFSET = 28;
/** The host's number for this Sidecar (1, 2, … per host process), the same in every region of it (§8.4). */
export const CONTROL_SIDECAR_INDEX_OFFSET = 32;
// Block 0, second cache line: the host statistics (§8.4). Host-written at any time (plain stores); the sidecar never
// reads them.
export const HOST_STATS_OFFSET = 64;
export const HOST_STATS_SIZE = 64;
export const CONTROL_COMMANDS_SENT_OFFSET = 64;
export const CONTROL_MESSAGES_RECEIVED_OFFSET = 68;
export const CONTROL_PENDING_REQUESTS_OFFSET = 72;
export const CONTROL_RESTARTS_OFFSET = 76;
// Block 1: status (sidecar-written; untrusted on the host side).
export const CONTROL_STATE_OFFSET = 128;
export const CONTROL_HEARTBEAT_OFFSET = 132;
export const CONTROL_IN_PLUGIN_OFFSET = 136;
export const CONTROL_PID_OFFSET = 140;
export const CONTROL_EXIT_REASON_OFFSET = 144;
export const CONTROL_ERROR_CODE_OFFSET = 148;
export const CONTROL_PROCESSED_OFFSET = 152;
// Progress counters (§8.3): commands taken and commands finished, in ring order, modulo 2^32 (stored with release).
export const CONTROL_STARTED_OFFSET = 156;
export const CONTROL_COMPLETED_OFFSET = 160;
// Sandbox report (process mode, §8.1): the SANDBOX_* layers the sidecar process applied and the Landlock ABI it found.
export const CONTROL_SANDBOX_OFFSET = 164;
export const CONTROL_LANDLOCK_ABI_OFFSET = 168;
// Sidecar statistics (§8.4): records committed to the event ring, and the REPLY messages among them (relaxed, mod 2^32).
export const CONTROL_MESSAGES_SENT_OFFSET = 172;
export const CONTROL_REPLIES_SENT_OFFSET = 176;
// Scheduling report (both modes, §8.1): the SCHED_* parts of options.scheduling the runtime thread applied to itself.
export const CONTROL_SCHED_OFFSET = 208;
// Blocks 2–3: error message (sidecar-written).
export const CONTROL_ERROR_LENGTH_OFFSET = 256;
export const CONTROL_ERROR_OFFSET = 264;
// The config bytes follow the fixed part.
export const CONTROL_CONFIG_OFFSET = SIDECAR_CONTROL_SIZE;

export const STATE_CREATED = 0;
export const STATE_LOADING = 1;
export const STATE_INITIALIZING = 2;
export const STATE_RUNNING = 3;
export const STATE_DISPOSING = 4;
export const STATE_EXITED = 5;
export const STATE_FAILED = 6;

export const CALL_NONE = 0;
export const CALL_INIT = 1;
export const CALL_PROCESS = 2;
export const CALL_DISPOSE = 3;

export const EXIT_NONE = 0;
export const EXIT_NORMAL = 1;
export const EXIT_BAD_REGION = 2;
export const EXIT_LOAD_FAILED = 3;
export const EXIT_NOT_PLUGIN = 4;
export const EXIT_ABI_MISMATCH = 5;
export const EXIT_INIT_FAILED = 6;
export const EXIT_CORRUPT = 7;
export const EXIT_PARENT_DIED = 8;
export const EXIT_USAGE = 9;
/** Process mode: a confinement layer the host required could not be applied (docs/security.md). */
export const EXIT_SANDBOX = 10;
/** Process mode: the plugin died on a sandbox resource limit (memory, CPU time). */
export const EXIT_RESOURCE_LIMIT = 11;
/** The kernel refused the requested scheduling (options.scheduling: CPUs, policy and priority, nice). */
export const EXIT_SCHEDULING = 12;
/** The largest exit reason; the host reads a larger `exit_reason` as EXIT_NONE (blocks 1–3 are untrusted). */
export const EXIT_MAX = 12;
/** native-sidecar-host exits with EXIT_CODE_BASE + reason for every reason but EXIT_NORMAL (exit code 0). */
export const EXIT_CODE_BASE = 64;

// The `sandbox` word: the confinement layers in force in a sidecar process (docs/security.md says what each stops).
export const SANDBOX_FDS_CLOSED = 0x001;
export const SANDBOX_NO_NEW_PRIVS = 0x002;
export const SANDBOX_LANDLOCK_FS = 0x004;
export const SANDBOX_LANDLOCK_NET = 0x008;
export const SANDBOX_LANDLOCK_SCOPE = 0x010;
export const SANDBOX_SECCOMP = 0x020;
export const SANDBOX_USER_NS = 0x040;
export const SANDBOX_NET_NS = 0x080;
export const SANDBOX_LIMITS = 0x100;

// The `sched` word: which parts of options.scheduling the runtime thread applied to itself.
export const SCHED_CPUS = 0x1;
export const SCHED_POLICY = 0x2;
export const SCHED_NICE = 0x4;

// Message kinds (the record type of every record on the two rings) and the 8-byte message header {arg0, arg1}.
export const SIDECAR_MSG_HEADER_SIZE = 8;
export const MSG_ARG0_OFFSET = 0;
export const MSG_ARG1_OFFSET = 4;
export const MSG_COMMAND = 1;
export const MSG_READY = 16;
export const MSG_PROCESS = 17;
export const MSG_EVENT = 18;
export const MSG_REPLY = 19;
export const MSG_LOG = 20;
export const MSG_DISPOSED = 21;

// The claim word of a COMMAND (its arg1, §8.3): 0 (a send) or a request id 1 … MAX_REQUEST_ID, written by the host.
// The host withdraws a command by CAS to COMMAND_WITHDRAWN; the sidecar takes it by CAS to COMMAND_STARTED_BIT | value.
export const COMMAND_STARTED_BIT = 0x80000000;
export const COMMAND_WITHDRAWN = 0x7fffffff;
export const MAX_REQUEST_ID = 0x7ffffffe;
/** Plugin ABI: the flag host->command_flags() returns for a command the runtime is delivering again. */
export const COMMAND_REDELIVERED = 1;

/** Bytes of a control block segment carrying `configLength` config bytes. */
export function controlSegmentSize(configLength: number): number {
  return SIDECAR_CONTROL_SIZE + configLength;
}
