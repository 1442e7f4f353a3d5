/** The sandbox of a process-mode sidecar: its options, the checked plugin file, and the report of what applied. */
export { resolveSandbox, sandboxArguments, DEFAULT_OPEN_FILES, MAX_SANDBOX_PATHS } from './options.js';
export type { ResolvedSandbox, SandboxLimits, SandboxOptions } from './options.js';
export { PluginFile } from './plugin-file.js';
