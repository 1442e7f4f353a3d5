export { Sidecar } from './sidecar.js';
export type { SidecarExit, SidecarExitReason, SidecarPoison, SidecarRestart, SidecarEventMap, RequestOptions, SendOptions, StopOptions } from './sidecar.js';
export type { SidecarOptions, SidecarHost, SidecarMode, RestartPolicy, WatchdogOptions } from './options.js';
export type { SidecarEvent } from './event-stream.js';
export { examplePluginPath } from './paths.js';
export type { ExamplePlugin } from './paths.js';
export * as sidecarLayout from './layout.js';
export type { SandboxReport } from './sandbox-report.js';
export type { SandboxOptions, SandboxLimits } from '../sandbox/options.js';
