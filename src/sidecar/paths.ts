/**
 * The native artefacts of the Sidecar, found by src/native/artifacts.ts (a local build in build/Release first, then
 * the package's prebuilds/<platform>-<arch>/):
 * - the executable of process mode: `native-sidecar-host`;
 * - shared libraries (the plugins): `<name>.so` — binding.gyp gives these `shared_library` targets an empty product
 *   prefix, and node-gyp's make generator copies each product from `obj.target/` to `build/Release/`.
 * Test programs exist only in build/Release (built by `npm test`), never in a prebuild.
 */
import { SidecarError } from '../errors.js';
import { findArtifact, prebuildTarget } from '../native/artifacts.js';

function missing(what: string): SidecarError {
  return new SidecarError(
    'ERR_ADDON_MISSING',
    `The native ${what} of native-sidecar was found neither in build/Release nor in prebuilds/${prebuildTarget()}; this platform has no prebuilt binaries, so build them from source with \`npm rebuild native-sidecar\` (needs a C/C++ compiler and Python).`,
  );
}

/** Absolute path of a native executable (`native-sidecar-host`, or a test program); throws ERR_ADDON_MISSING. */
export function nativeExecutable(name: string): string {
  const path = findArtifact(name);
  if (path === undefined) throw missing(`executable '${name}'`);
  return path;
}

/** Absolute path of a native shared library (`<name>.so`); throws ERR_ADDON_MISSING. */
export function nativeLibrary(name: string): string {
  const path = findArtifact(`${name}.so`);
  if (path === undefined) throw missing(`library '${name}.so'`);
  return path;
}

/** The example plugins of examples/plugins/, built by `npm install`. */
export type ExamplePlugin = 'demo' | 'echo' | 'hash';

/**
 * Absolute path of a built example plugin, for `Sidecar.start({ plugin: examplePluginPath('demo') })`.
 * Throws ERR_INVALID_ARG for an unknown name and ERR_ADDON_MISSING when it was not built. Any thread.
 */
export function examplePluginPath(name: ExamplePlugin): string {
  if (name !== 'demo' && name !== 'echo' && name !== 'hash') {
    throw new SidecarError('ERR_INVALID_ARG', `The argument 'name' must be 'demo', 'echo' or 'hash'; received ${String(name)}.`);
  }
  return nativeLibrary(name);
}
