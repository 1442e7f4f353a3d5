/**
 * The region handover over a Unix domain socket (docs/wire-format.md §1.2): how two unrelated processes share a sealed
 * anonymous region without a /dev/shm name. The server sends the region's memfd (SCM_RIGHTS) to every client whose uid
 * passes the check; the client checks the server's uid the same way, receives the fd and maps it with the usual
 * checks (a memfd sealed against shrinking only). SharedRegion.serve() and SharedRegion.connect() are the entry
 * points; this module holds the server object and the option checks. The sockets live in the addon
 * (native/addon/fd_passing.cc) because Node has no SCM_RIGHTS API.
 *
 * Credentials are the kernel's (SO_PEERCRED, recorded at connect()/listen() time), not claims of the peer. By default
 * only our own effective uid is allowed; `allowUids` replaces that with an explicit list (add your own uid to it if it
 * should stay allowed).
 */
import { RegionError, checkInteger, fromNative, invalidArg } from '../errors.js';
import { loadAddon, type NativeRegionServerHandle } from '../native/addon.js';

/** One client the server saw: who it was and whether it got the region. */
export interface RegionPeer {
  /** The client's uid and pid as the kernel recorded them when it connected (SO_PEERCRED). */
  readonly uid: number;
  readonly pid: number;
  /** True when the region's fd was sent. */
  readonly sent: boolean;
  /** Why it was not sent (uid not allowed, the send failed); empty when sent. */
  readonly reason: string;
}

export interface RegionServeOptions {
  /** The uids that may receive the region; default: only this process's effective uid. A non-empty array. */
  allowUids?: readonly number[];
  /** Called on the JavaScript thread after each client was served or refused (for logs and tests). */
  onPeer?: (peer: RegionPeer) => void;
}

export interface RegionConnectOptions {
  /** The uids the server may run as; default: only this process's effective uid. A non-empty array. */
  allowUids?: readonly number[];
  /** How long to wait for the connection and the region, in milliseconds (default 5000). */
  timeoutMs?: number;
  /** Passed to fromFd(): map a received fd that is not sealed against shrinking. Default false (see fromFd). */
  trustPeer?: boolean;
}

export const DEFAULT_HANDOVER_TIMEOUT_MS = 5000;

/**
 * Every open RegionServer. An open server must not depend on its caller keeping the handle: the native object stops
 * the server (and removes its socket file) when it is collected, so a caller that dropped the handle of a listening
 * server — `region.serve(path)` as a statement — would see it vanish at the next garbage collection. Held here from
 * creation to close(), it lives like a net.Server, until closed.
 */
const openServers = new Set<RegionServer>();

/**
 * A listening handover server, made by SharedRegion#serve(). It keeps its own duplicate of the region's fd, so the
 * region may be closed before the server; close() the server to stop handing it out. While open it keeps the event
 * loop alive, like a net.Server, and it stays open until close() even when nothing references it.
 */
export class RegionServer {
  #native: NativeRegionServerHandle | undefined;
  readonly #path: string;

  /** @internal SharedRegion#serve() makes servers. */
  constructor(path: string, regionFd: number, options: RegionServeOptions) {
    const allowUids = checkUids(options.allowUids);
    const { onPeer } = options;
    if (onPeer !== undefined && typeof onPeer !== 'function') throw invalidArg('options.onPeer', 'a function or undefined', onPeer);
    this.#path = path;
    this.#native = wrap(
      () =>
        new (loadAddon().NativeRegionServer)(path, regionFd, allowUids, (uid, pid, sent, reason) =>
          onPeer?.(Object.freeze({ uid, pid, sent, reason })),
        ),
    );
    openServers.add(this);
  }

  /** The socket path it listens on. */
  get path(): string {
    return this.#path;
  }

  get closed(): boolean {
    return this.#native === undefined;
  }

  /**
   * Stops listening: joins the server thread (which wakes at once), closes its sockets and its duplicate of the
   * region's fd, and removes the socket file if it is still the one it bound. Idempotent. JavaScript thread.
   */
  close(): void {
    this.#native?.close();
    this.#native = undefined;
    openServers.delete(this);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export function checkServeOptions(options: RegionServeOptions): void {
  if (typeof options !== 'object' || options === null) throw invalidArg('options', 'an object', options);
}

/** Checks the connect options; returns the normalised values. */
export function checkConnectOptions(options: RegionConnectOptions): { allowUids: readonly number[] | undefined; timeoutMs: number; trustPeer: boolean } {
  if (typeof options !== 'object' || options === null) throw invalidArg('options', 'an object', options);
  const allowUids = checkUids(options.allowUids);
  const timeoutMs =
    options.timeoutMs === undefined ? DEFAULT_HANDOVER_TIMEOUT_MS : checkInteger('options.timeoutMs', options.timeoutMs, 1, 2_000_000);
  if (options.trustPeer !== undefined && typeof options.trustPeer !== 'boolean') {
    throw invalidArg('options.trustPeer', 'a boolean or undefined', options.trustPeer);
  }
  return { allowUids, timeoutMs, trustPeer: options.trustPeer === true };
}

/** Receives a region fd from the server at `path` (the caller owns and closes it). Rejects with typed errors. */
export async function receiveRegionFd(path: string, allowUids: readonly number[] | undefined, timeoutMs: number): Promise<number> {
  try {
    return await wrap(() => loadAddon().receiveRegionFd(path, allowUids, timeoutMs));
  } catch (error) {
    throw fromNative(RegionError, error);
  }
}

function checkUids(value: unknown): readonly number[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((u) => Number.isInteger(u) && u >= 0 && u <= 0xfffffffe)) {
    throw invalidArg('options.allowUids', 'a non-empty array of uids (integers from 0 to 4294967294) or undefined', value);
  }
  return value.slice();
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw fromNative(RegionError, error);
  }
}
