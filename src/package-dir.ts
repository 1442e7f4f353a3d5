/**
 * The directory of the installed native-sidecar package (the one holding its package.json), found by walking up from
 * this module (dist/ → 1 level, .out/src/ → 2), and the folder of the C headers a plugin's build compiles against.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeSidecarError } from './errors.js';

const SEARCH_DEPTH = 4;
let found: string | undefined;

/** The package directory: the nearest ancestor whose package.json is named native-sidecar. Any thread. */
export function packageDir(): string {
  if (found !== undefined) return found;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i <= SEARCH_DEPTH; i++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && isOurs(manifest)) return (found = dir);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new NativeSidecarError('ERR_ADDON_MISSING', 'The package.json of native-sidecar was not found above its modules; reinstall the package.');
}

function isOurs(manifest: string): boolean {
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'native-sidecar';
  } catch {
    return false;
  }
}

/**
 * The absolute path of the package's C header folder, `native/include`: what a plugin's build passes as `-I` so that
 * `#include "native_sidecar/plugin.h"` (and ring.h, region.h … of the wire format) resolves — for example
 * `gcc -shared -fPIC -I "$(node -e "import('native-sidecar').then((m) => console.log(m.includeDir()))")" …`.
 * A single header also resolves through the package's exports: `native-sidecar/include/native_sidecar/plugin.h`.
 * Any thread. Throws NativeSidecarError ERR_ADDON_MISSING when the folder is not in the package.
 */
export function includeDir(): string {
  const dir = join(packageDir(), 'native', 'include');
  if (!existsSync(join(dir, 'native_sidecar', 'plugin.h'))) {
    throw new NativeSidecarError('ERR_ADDON_MISSING', `The C headers of native-sidecar are not in ${dir}; reinstall the package.`);
  }
  return dir;
}
