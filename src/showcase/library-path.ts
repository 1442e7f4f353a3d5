/**
 * Where the native showcase library and the addon are on disk — resolved here, in one place, for both bindings.
 * node-gyp (make generator, Linux) writes a `"type": "shared_library"` target to build/Release/obj.target/<name>.so
 * and copies it to build/Release/<name>.so; older generators used build/Release/lib.target/<name>.so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeSidecarError } from '../errors.js';

const LIBRARY_NAME = 'ns_showcase.so';
const LIBRARY_DIRS = ['build/Release', 'build/Release/lib.target', 'build/Release/obj.target'];

/** The package root: the nearest ancestor of this module with the package.json of native-sidecar. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
      if (name === 'native-sidecar') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new NativeSidecarError('ERR_ADDON_MISSING', 'The native-sidecar package root (its package.json) was not found above this module.');
    }
    dir = parent;
  }
}

/** Absolute path of libns_showcase. Throws ERR_ADDON_MISSING, telling the user to run `npm install`, if not built. */
export function showcaseLibraryPath(): string {
  const root = packageRoot();
  for (const dir of LIBRARY_DIRS) {
    const candidate = join(root, dir, LIBRARY_NAME);
    if (existsSync(candidate)) return candidate;
  }
  throw new NativeSidecarError(
    'ERR_ADDON_MISSING',
    `The native showcase library ${LIBRARY_NAME} was not found under ${join(root, 'build/Release')}; run \`npm install\` to build it.`,
  );
}
