/**
 * The `sandbox` option of Sidecar.start() (process mode) and its validation. The default profile — what a
 * process-mode sidecar gets when the option is left out — is docs/security.md's "default profile": an empty
 * environment, no inherited descriptors, read-only access to the plugin and the system libraries, no network, no
 * access to other processes, at most 256 open files. Every bad value, and every key that is not an option, is an
 * ERR_INVALID_ARG SidecarError naming it.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { SidecarError } from '../errors.js';
import { badArg, checkKeys, intArg, knownKeys } from '../sidecar/args.js';

/** Resource limits of a sandboxed sidecar process. Hitting one ends the process with exit reason 'resource-limit'. */
export interface SandboxLimits {
  /** Address space in bytes (RLIMIT_AS: the mappings of the process, the shared region included). Default: none. */
  memoryBytes?: number;
  /** CPU seconds over the life of the process (RLIMIT_CPU). Default: none. */
  cpuSeconds?: number;
  /** Open descriptors (RLIMIT_NOFILE). Default 256. */
  openFiles?: number;
}

export interface SandboxOptions {
  /**
   * The sidecar's environment. An object gives the variables themselves; an array names variables of this process's
   * environment to copy (names it does not have are left out). Default: empty — the plugin sees no variable at all.
   */
  env?: Readonly<Record<string, string>> | readonly string[];
  /** Files or directories the plugin may read (beneath each). Relative paths are resolved against the cwd. */
  readPaths?: readonly string[];
  /** Files or directories the plugin may read, write, create and delete in (beneath each). */
  writePaths?: readonly string[];
  /** Allow sockets (TCP, UDP, Unix) and keep the host's network namespace. Default false: no socket can be opened. */
  network?: boolean;
  limits?: SandboxLimits;
  /**
   * Start even when the kernel lacks a required layer (Landlock, seccomp, no_new_privs); `sidecar.sandbox` then says
   * what is in force. Default false: start() rejects with ERR_SANDBOX_UNAVAILABLE instead.
   */
  bestEffort?: boolean;
}

export interface ResolvedSandbox {
  env: Record<string, string>;
  readPaths: string[];
  writePaths: string[];
  network: boolean;
  memoryBytes: number | undefined;
  cpuSeconds: number | undefined;
  openFiles: number;
  bestEffort: boolean;
}

export const DEFAULT_OPEN_FILES = 256;
/** Paths of each kind the sidecar executable accepts (NS_SANDBOX_MAX_PATHS in native/sidecar/sandbox.h). */
export const MAX_SANDBOX_PATHS = 64;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SANDBOX_KEYS = knownKeys<SandboxOptions>({ env: true, readPaths: true, writePaths: true, network: true, limits: true, bestEffort: true });
const LIMIT_KEYS = knownKeys<SandboxLimits>({ memoryBytes: true, cpuSeconds: true, openFiles: true });

function paths(name: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw badArg(name, 'an array of path strings', value);
  if (value.length > MAX_SANDBOX_PATHS) throw badArg(name, `an array of at most ${MAX_SANDBOX_PATHS} paths`, value);
  return value.map((p: unknown, i) => {
    if (typeof p !== 'string' || p.length === 0 || p.includes('\0')) throw badArg(`${name}[${i}]`, 'a non-empty path string', p);
    const absolute = isAbsolute(p) ? p : resolve(p);
    // Checked here so a typo is a sentence now, not a sandbox failure in the child.
    if (!existsSync(absolute)) throw badArg(`${name}[${i}]`, 'an existing file or directory', p);
    return absolute;
  });
}

function environment(value: unknown): Record<string, string> {
  const env: Record<string, string> = {};
  if (value === undefined) return env;
  if (Array.isArray(value)) {
    value.forEach((n: unknown, i) => {
      if (typeof n !== 'string' || !ENV_NAME.test(n)) throw badArg(`options.sandbox.env[${i}]`, 'an environment variable name', n);
      const v = process.env[n];
      if (v !== undefined) env[n] = v;
    });
    return env;
  }
  if (value === null || typeof value !== 'object') throw badArg('options.sandbox.env', 'an object of variables or an array of names', value);
  for (const [n, v] of Object.entries(value)) {
    if (!ENV_NAME.test(n)) throw badArg('options.sandbox.env', 'an object whose keys are environment variable names', n);
    if (typeof v !== 'string' || v.includes('\0')) throw badArg(`options.sandbox.env.${n}`, 'a string without NUL', v);
    env[n] = v;
  }
  return env;
}

function flag(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw badArg(name, 'a boolean', value);
  return value;
}

/**
 * Resolves `value` (the `sandbox` option) for `mode`. Process mode: undefined and true give the default profile,
 * false gives null (unconfined). Thread mode: undefined gives null; anything else is refused, because a thread of
 * this process cannot be confined without confining Node.js itself.
 */
export function resolveSandbox(value: unknown, mode: 'thread' | 'process'): ResolvedSandbox | null {
  if (mode === 'thread') {
    if (value === undefined || value === false) return null;
    throw new SidecarError('ERR_INVALID_ARG', "The argument 'options.sandbox' needs mode 'process': a thread shares the Node.js process and cannot be confined.");
  }
  if (value === false) return null;
  const s = (value === undefined || value === true ? {} : value) as SandboxOptions;
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw badArg('options.sandbox', 'a boolean or a sandbox options object', value);
  checkKeys('options.sandbox', s, SANDBOX_KEYS);
  const limits = s.limits ?? {};
  if (limits === null || typeof limits !== 'object' || Array.isArray(limits)) {
    throw badArg('options.sandbox.limits', 'an object such as { memoryBytes: 1 << 30 }', s.limits);
  }
  checkKeys('options.sandbox.limits', limits, LIMIT_KEYS);
  return {
    env: environment(s.env),
    readPaths: paths('options.sandbox.readPaths', s.readPaths),
    writePaths: paths('options.sandbox.writePaths', s.writePaths),
    network: flag('options.sandbox.network', s.network),
    memoryBytes: limits.memoryBytes === undefined ? undefined : intArg('options.sandbox.limits.memoryBytes', limits.memoryBytes, 1 << 24, Number.MAX_SAFE_INTEGER),
    cpuSeconds: limits.cpuSeconds === undefined ? undefined : intArg('options.sandbox.limits.cpuSeconds', limits.cpuSeconds, 1, 2 ** 31 - 1),
    openFiles: limits.openFiles === undefined ? DEFAULT_OPEN_FILES : intArg('options.sandbox.limits.openFiles', limits.openFiles, 16, 1 << 20),
    bestEffort: flag('options.sandbox.bestEffort', s.bestEffort),
  };
}

/** The sandbox arguments of native-sidecar-host (native/sidecar/main.c) for a resolved profile. */
export function sandboxArguments(s: ResolvedSandbox): string[] {
  const args = ['--sandbox'];
  if (s.bestEffort) args.push('--best-effort');
  if (s.network) args.push('--network');
  for (const p of s.readPaths) args.push('--read', p);
  for (const p of s.writePaths) args.push('--write', p);
  if (s.memoryBytes !== undefined) args.push('--limit-memory', String(s.memoryBytes));
  if (s.cpuSeconds !== undefined) args.push('--limit-cpu', String(s.cpuSeconds));
  args.push('--limit-files', String(s.openFiles));
  return args;
}
