/**
 * Where the native showcase library is on disk — resolved here, in one place, for both bindings (the Node-API addon
 * dlopen()s the path it is given; koffi loads the same path).
 * node-gyp (make generator, Linux) writes a `"type": "shared_library"` target to build/Release/obj.target/<name>.so
 * and copies it to build/Release/<name>.so; older generators used build/Release/lib.target/<name>.so.
 */
import { join } from 'node:path';
import { NativeSidecarError } from '../errors.js';
import { findBuildArtifact } from '../native/addon.js';

const LIBRARY_NAME = 'ns_showcase.so';
const LIBRARY_DIRS = ['build/Release', 'build/Release/lib.target', 'build/Release/obj.target'];

/** Absolute path of libns_showcase. Throws ERR_ADDON_MISSING, telling the user to run `npm install`, if not built. */
export function showcaseLibraryPath(): string {
  for (const dir of LIBRARY_DIRS) {
    const found = findBuildArtifact(join(dir, LIBRARY_NAME));
    if (found !== undefined) return found;
  }
  throw new NativeSidecarError(
    'ERR_ADDON_MISSING',
    `The native showcase library build/Release/${LIBRARY_NAME} was not found next to native-sidecar; run \`npm install\` to build it.`,
  );
}
