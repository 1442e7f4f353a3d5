/**
 * What the Sidecar offers the SidecarPool (src/pool/) and nobody else: symbol-keyed methods, not part of the public
 * surface (src/index.ts does not export this module; test/public-surface.test.ts lists what is public).
 *
 * - `sidecar[requestWithId](bytes, type)`: request() that returns the request id with its promise.
 * - `sidecar[cancelRequest](id, error, kill)`: withdraw a request's command, or kill the process that runs it; see
 *   Sidecar's method for the contract.
 */
export const requestWithId = Symbol('native-sidecar.requestWithId');
export const cancelRequest = Symbol('native-sidecar.cancelRequest');

/** A request sent by [requestWithId]: its id (0 when it was refused: the promise then rejects) and its promise. */
export interface IdentifiedRequest {
  id: number;
  promise: Promise<Uint8Array>;
}

/**
 * What [cancelRequest] did: 'withdrawn' — the command will never run, the request rejected; 'killed' — it was running,
 * the request rejected and the process was killed (a replacement starts at once); 'running' — it runs on (thread mode,
 * or it finished and its reply is on the way) and its request settles as usual; 'settled' — it was not pending.
 */
export type CancelOutcome = 'withdrawn' | 'killed' | 'running' | 'settled';
