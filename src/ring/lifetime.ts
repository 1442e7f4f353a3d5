/**
 * Which Rings live in memory that can go away: the link between a memory owner that detaches its ArrayBuffer (a
 * SharedRegion's close(), which then unmaps the memory) and every Ring over that buffer, however the Ring was made
 * (region.createRing()/region.ring(), or Ring.create/Ring.attach on `region.buffer` directly).
 *
 * The owner calls {@link trackBuffer} when it hands the buffer out and {@link closeBuffer} just before it detaches it;
 * every Ring constructed over a tracked buffer registers itself (weakly: the registry never keeps a Ring alive) and is
 * told, synchronously inside closeBuffer(), that its memory is about to go. The Ring then cancels its pending waits
 * (so a native waiter stops using the memory before it is unmapped) and refuses every later call.
 *
 * Layering: src/ring/ owns this module and never imports src/region/; the region imports it.
 * Threading: per JavaScript thread (module state is per isolate), like the buffers it tracks. Any function here must
 * be called on the thread that owns the buffer.
 */

/** The method a user of a tracked buffer implements; called once, inside closeBuffer(), before the detach. */
export const kBufferClosing: unique symbol = Symbol('native-sidecar.bufferClosing');

export interface BufferUser {
  [kBufferClosing](): void;
}

/** The users of one tracked buffer, held weakly; dead references are swept when the set doubles. */
interface Users {
  refs: Set<WeakRef<BufferUser>>;
  sweepAt: number;
}

const MIN_SWEEP = 16;
const tracked = new WeakMap<ArrayBufferLike, Users>();
/** Buffers that closeBuffer() released: what lets Ring.create/attach tell "its region was closed" from other detaches. */
const released = new WeakSet<ArrayBufferLike>();

/**
 * Starts tracking `buffer`: Rings constructed over it from now on are told when it closes. Idempotent. Called by the
 * memory owner (SharedRegion) when it makes the buffer, before anyone can build a Ring over it.
 */
export function trackBuffer(buffer: ArrayBufferLike): void {
  if (!tracked.has(buffer)) tracked.set(buffer, { refs: new Set(), sweepAt: MIN_SWEEP });
}

/**
 * Registers `user` (a Ring, from its constructor) with `buffer` if the buffer is tracked; a no-op (one WeakMap
 * lookup) for a plain ArrayBuffer or a SharedArrayBuffer, which nobody detaches behind the Ring's back.
 */
export function addBufferUser(buffer: ArrayBufferLike, user: BufferUser): void {
  const users = tracked.get(buffer);
  if (users === undefined) return;
  if (users.refs.size >= users.sweepAt) {
    for (const ref of users.refs) if (ref.deref() === undefined) users.refs.delete(ref);
    users.sweepAt = Math.max(MIN_SWEEP, users.refs.size * 2);
  }
  users.refs.add(new WeakRef(user));
}

/**
 * Tells every live user of `buffer` that its memory is about to go (each user's {@link kBufferClosing} method, in
 * registration order), then forgets the buffer. The owner calls it before it detaches the buffer and unmaps the
 * memory, so users may still touch the memory inside their notification. A user that throws does not stop the
 * others (its error is reported as an uncaught exception on the next tick). Idempotent: a second call does nothing.
 */
export function closeBuffer(buffer: ArrayBufferLike): void {
  const users = tracked.get(buffer);
  if (users === undefined) return;
  tracked.delete(buffer);
  released.add(buffer);
  for (const ref of users.refs) {
    const user = ref.deref();
    if (user === undefined) continue;
    try {
      user[kBufferClosing]();
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }
}

/** Whether closeBuffer() released `buffer` (its owner closed it). */
export function wasClosed(buffer: ArrayBufferLike): boolean {
  return released.has(buffer);
}
