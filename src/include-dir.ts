/**
 * The folder of the C headers a plugin's build compiles against, inside the installed package (found by
 * src/native/artifacts.ts, like the native binaries).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NativeSidecarError } from './errors.js';
import { packageRoot } from './native/artifacts.js';

/**
 * The absolute path of the package's C header folder, `native/include`: what a plugin's build passes as `-I` so that
 * `#include "native_sidecar/plugin.h"` (and ring.h, region.h … of the wire format) resolves — for example
 * `gcc -shared -fPIC -I "$(node --input-type=module -e "import { includeDir } from 'native-sidecar'; console.log(includeDir())")" …`.
 * A single header also resolves through the package's exports: `native-sidecar/include/native_sidecar/plugin.h`.
 * Any thread. Throws NativeSidecarError ERR_ADDON_MISSING when the folder is not in the package.
 */
export function includeDir(): string {
  const root = packageRoot();
  const dir = root === undefined ? undefined : join(root, 'native', 'include');
  if (dir === undefined || !existsSync(join(dir, 'native_sidecar', 'plugin.h'))) {
    throw new NativeSidecarError('ERR_ADDON_MISSING', `The C headers of native-sidecar are not in ${dir ?? 'its package directory'}; reinstall the package.`);
  }
  return dir;
}
