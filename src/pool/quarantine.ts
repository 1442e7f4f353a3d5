/**
 * The pool-wide poison quarantine: commands (type + bytes) that killed a member twice, so that the same command sent
 * again is refused at once instead of killing member after member. Stored as SHA-256 digests, at most `max` of them
 * (the oldest forgotten first). A command is hashed only when a quarantined command of the same type and length
 * exists: the check costs one Map lookup on the usual path.
 *
 * Threading: the JavaScript thread of the pool.
 */
import { createHash } from 'node:crypto';

function digest(type: number, bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64') + `:${type}`;
}

export class Quarantine {
  /** `${type}:${length}` → how many quarantined digests have that shape. */
  readonly #shapes = new Map<string, number>();
  /** Digests in insertion order (a Set iterates oldest first). */
  readonly #digests = new Set<string>();
  readonly #shapeOf = new Map<string, string>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.#digests.size;
  }

  add(type: number, bytes: Uint8Array): void {
    if (this.max === 0) return;
    const d = digest(type, bytes);
    if (this.#digests.has(d)) return;
    if (this.#digests.size >= this.max) {
      const oldest = this.#digests.values().next().value as string;
      this.#digests.delete(oldest);
      const shape = this.#shapeOf.get(oldest)!;
      this.#shapeOf.delete(oldest);
      const n = this.#shapes.get(shape)! - 1;
      if (n === 0) this.#shapes.delete(shape);
      else this.#shapes.set(shape, n);
    }
    const shape = `${type}:${bytes.byteLength}`;
    this.#digests.add(d);
    this.#shapeOf.set(d, shape);
    this.#shapes.set(shape, (this.#shapes.get(shape) ?? 0) + 1);
  }

  has(type: number, bytes: Uint8Array): boolean {
    if (this.#digests.size === 0 || !this.#shapes.has(`${type}:${bytes.byteLength}`)) return false;
    return this.#digests.has(digest(type, bytes));
  }
}
