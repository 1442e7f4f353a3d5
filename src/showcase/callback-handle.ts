import type { CallbackHandle } from './types.js';

/**
 * The CallbackHandle both bindings hand out: it remembers that it was released, so `release()` runs the binding's
 * `unregister` at most once. JS thread that opened the binding (unregister runs on it, synchronously).
 */
export class RegisteredCallback implements CallbackHandle {
  readonly id: number;
  readonly #unregister: () => void;
  #released = false;

  constructor(id: number, unregister: () => void) {
    this.id = id;
    this.#unregister = unregister;
  }

  get released(): boolean {
    return this.#released;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#unregister();
  }
}
