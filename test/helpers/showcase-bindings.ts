/** Opens each binding of the interop showcase for tests. */
import { openInteropBinding, type BindingName, type InteropBinding } from '../../src/showcase/index.js';

export const BINDING_NAMES: readonly BindingName[] = ['napi', 'koffi'];

/** Runs `body` with a fresh binding and always closes it. */
export async function withBinding<T>(name: BindingName, body: (binding: InteropBinding) => Promise<T> | T): Promise<T> {
  const binding = await openInteropBinding(name);
  try {
    return await body(binding);
  } finally {
    binding.close();
  }
}

/** FNV-1a-32 over bytes, written independently of src/ (the expected value of the native V-table's fnv1a). */
export function fnv1aBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** FNV-1a-32 over the 4 little-endian bytes of each value (the checksum of native thread reports). */
export function fnv1aWords(values: Iterable<number>): number {
  const bytes: number[] = [];
  for (const v of values) bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  return fnv1aBytes(Uint8Array.from(bytes));
}

export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
