/**
 * Public API of the interop showcase, the subpath export `native-sidecar/showcase` (teaching code: it is not part of
 * the main entry). The bindings are loaded on demand, so importing it neither loads koffi nor touches the showcase
 * library until a binding is opened.
 */
import type { BindingName, InteropBinding } from './types.js';

export type {
  BindingName,
  CallbackHandle,
  CallbackRef,
  CallMode,
  CallThreadOptions,
  HostVTable,
  InteropBinding,
  NativeThread,
  NativeVTable,
  RingSegment,
  ThreadReport,
} from './types.js';
export { showcaseLibraryPath } from './library-path.js';
export { fnv1aU32, fnv1aU32Sequence, FNV_OFFSET_BASIS } from './checksum.js';
/** Errors of the showcase (callbacks, tables, cross-thread calls); a NativeSidecarError of the main entry. */
export { InteropError } from '../errors.js';

/**
 * Opens a binding of the showcase library: 'napi' (the project's Node-API addon) or 'koffi' (FFI). JS thread; the
 * binding belongs to the calling thread. Call `close()` when done: registered Node-API callbacks keep the event
 * loop alive until released.
 */
export async function openInteropBinding(name: BindingName, libraryPath?: string): Promise<InteropBinding> {
  if (name === 'napi') {
    const { NapiBinding } = await import('./napi-binding.js');
    return new NapiBinding(libraryPath);
  }
  if (name === 'koffi') {
    const { KoffiBinding } = await import('./koffi-binding.js');
    return new KoffiBinding(libraryPath);
  }
  const { invalidArg } = await import('../errors.js');
  throw invalidArg('name', "'napi' or 'koffi'", name);
}
