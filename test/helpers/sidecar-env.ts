/**
 * Shared helpers of the sidecar tests: where the test plugins are, and what this process holds (fds, threads,
 * mappings) so that a test can check that nothing leaked.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { nativeExecutable, nativeLibrary } from '../../src/sidecar/paths.js';
import type { SidecarMode } from '../../src/index.js';

/**
 * The native parker (src/native/parker.ts) keeps up to 4 idle futex-waiter threads for reuse and creates them when
 * concurrent waits first need them, so the thread count may grow by up to this much after any warm-up without a leak.
 * Tests that check for leaked threads repeat the operation often enough that a leak of one thread per operation
 * exceeds it.
 */
export const PARKER_POOL_SLACK = 4;

export const MODES: readonly SidecarMode[] = ['thread', 'process'];

/** A test plugin of native/test/plugins/ (built as build/Release/test_<name>.so). */
export function testPlugin(name: 'faulty' | 'bad_abi' | 'init_fails' | 'not_plugin' | 'lifecycle' | 'ledger' | 'spy' | 'needs_dep'): string {
  return nativeLibrary(`test_${name}`);
}

export function layoutDumpPath(): string {
  return nativeExecutable('sidecar_layout_dump');
}

export interface ResourceCounts {
  fds: number;
  threads: number;
  mappings: number;
  /**
   * Mappings other than V8 heap pages: anonymous read-write mappings that start on a 256 KiB boundary and span a
   * multiple of 256 KiB (V8's page size; adjacent pages merge) are left out. The young generation grows page by page
   * (up to tens of MiB) as survivors accumulate, whatever the test does; a leaked region, thread stack guard or
   * library mapping is still counted.
   */
  otherMappings: number;
  memfdMappings: number;
}

const V8_PAGE = 256 * 1024;

/** `start-end perms offset dev inode [path]` of /proc/self/maps: is it (a run of) V8 heap pages? */
function isV8HeapPages(line: string): boolean {
  const [range, perms, , , inode, path] = line.split(/\s+/);
  if (range === undefined || perms !== 'rw-p' || inode !== '0' || (path !== undefined && path !== '')) return false;
  const [start, end] = range.split('-').map((hex) => BigInt(`0x${hex}`));
  if (start === undefined || end === undefined) return false;
  const page = BigInt(V8_PAGE);
  return start % page === 0n && (end - start) % page === 0n;
}

/** What this process holds right now, from /proc/self. */
export function resourceCounts(): ResourceCounts {
  const maps = readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.length > 0);
  return {
    fds: readdirSync('/proc/self/fd').length,
    threads: readdirSync('/proc/self/task').length,
    mappings: maps.length,
    otherMappings: maps.filter((l) => !isV8HeapPages(l)).length,
    memfdMappings: maps.filter((l) => l.includes('/memfd:')).length,
  };
}

export function processExists(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return false;
  try {
    // A zombie (exited, not yet reaped by its parent) has state Z: it runs nothing and holds no memory.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z';
  } catch {
    return false;
  }
}

/** Resolves after `ms` milliseconds (for polling loops that have their own overall bound). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms until it holds or `limitMs` passes; returns whether it held. */
export async function eventually(condition: () => boolean, limitMs = 10_000): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (condition()) return true;
    await sleep(10);
  }
  return condition();
}
