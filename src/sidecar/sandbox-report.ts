/**
 * What confinement a sidecar process is under: the `sandbox` word of the control block (wire-format §8.1), written
 * by the sidecar before it loads the plugin, decoded for `sidecar.sandbox`. The word is the sidecar's own report —
 * informational: a plugin cannot change it before it has run, and by then its confinement is in force already.
 */
import {
  SANDBOX_FDS_CLOSED,
  SANDBOX_LANDLOCK_FS,
  SANDBOX_LANDLOCK_NET,
  SANDBOX_LANDLOCK_SCOPE,
  SANDBOX_LIMITS,
  SANDBOX_NET_NS,
  SANDBOX_NO_NEW_PRIVS,
  SANDBOX_SECCOMP,
  SANDBOX_USER_NS,
} from './layout.js';
import type { ResolvedSandbox } from '../sandbox/options.js';

export interface SandboxReport {
  /** The Landlock ABI version of the kernel (0: none). */
  landlockAbi: number;
  /** Names of the environment variables the sidecar was given. */
  env: string[];
  /** Each layer of docs/security.md and whether it is in force. */
  layers: {
    descriptorsClosed: boolean;
    noNewPrivileges: boolean;
    landlockFilesystem: boolean;
    landlockNetwork: boolean;
    landlockScopes: boolean;
    seccomp: boolean;
    userNamespace: boolean;
    networkNamespace: boolean;
    resourceLimits: boolean;
  };
}

export function describeSandbox(bits: number, landlockAbi: number, profile: ResolvedSandbox): SandboxReport {
  return {
    landlockAbi,
    env: Object.keys(profile.env),
    layers: {
      descriptorsClosed: (bits & SANDBOX_FDS_CLOSED) !== 0,
      noNewPrivileges: (bits & SANDBOX_NO_NEW_PRIVS) !== 0,
      landlockFilesystem: (bits & SANDBOX_LANDLOCK_FS) !== 0,
      landlockNetwork: (bits & SANDBOX_LANDLOCK_NET) !== 0,
      landlockScopes: (bits & SANDBOX_LANDLOCK_SCOPE) !== 0,
      seccomp: (bits & SANDBOX_SECCOMP) !== 0,
      userNamespace: (bits & SANDBOX_USER_NS) !== 0,
      networkNamespace: (bits & SANDBOX_NET_NS) !== 0,
      resourceLimits: (bits & SANDBOX_LIMITS) !== 0,
    },
  };
}
