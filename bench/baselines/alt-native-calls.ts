/**
 * What an addon author would write instead of a sidecar to hand a buffer to C: the test-only addon ns_bench_addon
 * (native/bench/bench_addon.cc). Every entry point copies `src` into `dst` (the same memcpy), so the figures differ
 * only by the crossing:
 * - koffi: a synchronous FFI call of the plain C function ns_bench_copy(src, dst, n) in the same .node file;
 * - N-API synchronous: copySync(src, dst) on the JavaScript thread;
 * - N-API async work: copyAsync(src, dst) queues napi_async_work (libuv pool thread), its completion resolves a
 *   promise on the JavaScript thread.
 * Loaded on the main JavaScript thread; throws when the addon is not built (npm run build:native builds it).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface BenchAddon {
  copySync(src: Uint8Array, dst: Uint8Array): number;
  copyAsync(src: Uint8Array, dst: Uint8Array): Promise<number>;
}

export interface NativeCalls {
  addon: BenchAddon;
  /** koffi's binding of ns_bench_copy. */
  koffiCopy: (src: Uint8Array, dst: Uint8Array, n: number) => number;
}

/** Loads the addon at `path` (build/Release/ns_bench_addon.node) and binds its C function with koffi. */
export async function loadNativeCalls(path: string): Promise<NativeCalls> {
  if (!existsSync(path)) throw new Error(`The benchmark addon ${path} is missing; build it with 'npm run build:native'.`);
  const require = createRequire(import.meta.url);
  const addon = require(path) as BenchAddon;
  const koffi = (await import('koffi')).default;
  const lib = koffi.load(path);
  const fn = lib.func('uint64_t ns_bench_copy(const uint8_t *src, uint8_t *dst, uint64_t n)') as (s: Uint8Array, d: Uint8Array, n: number) => number | bigint;
  return { addon, koffiCopy: (s, d, n) => Number(fn(s, d, n)) };
}
