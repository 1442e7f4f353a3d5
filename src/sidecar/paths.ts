/**
 * Where `npm install` (node-gyp) puts the native artefacts of the Sidecar, resolved in this one place:
 * - the executable of process mode: `build/Release/native-sidecar-host`;
 * - shared libraries (the plugins): `build/Release/<name>.so` — binding.gyp gives these `shared_library` targets
 *   an empty product prefix, and node-gyp's make generator copies each product from `obj.target/` to
 *   `build/Release/` (checked with ls after `npm install`).
 * The package directory is found by walking up from this module (dist/sidecar → 2 levels, .out/src/sidecar → 3).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SidecarError } from '../errors.js';

const RELEASE_DIR = join('build', 'Release');
const SEARCH_DEPTH = 4;

let packageDir: string | undefined;

/** The package directory that holds build/Release, or undefined when the native build is missing. Any thread. */
function findPackageDir(): string | undefined {
  if (packageDir !== undefined) return packageDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i <= SEARCH_DEPTH; i++) {
    if (existsSync(join(dir, RELEASE_DIR))) return (packageDir = dir);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

function missing(what: string): SidecarError {
  return new SidecarError(
    'ERR_ADDON_MISSING',
    `The native ${what} of native-sidecar was not found in build/Release; run \`npm install\` in the package directory to build it.`,
  );
}

/** Absolute path of a native executable built by binding.gyp (`build/Release/<name>`); throws ERR_ADDON_MISSING. */
export function nativeExecutable(name: string): string {
  const dir = findPackageDir();
  const path = dir === undefined ? undefined : join(dir, RELEASE_DIR, name);
  if (path === undefined || !existsSync(path)) throw missing(`executable '${name}'`);
  return path;
}

/** Absolute path of a shared library built by binding.gyp (`build/Release/<name>.so`); ERR_ADDON_MISSING. */
export function nativeLibrary(name: string): string {
  const dir = findPackageDir();
  const path = dir === undefined ? undefined : join(dir, RELEASE_DIR, `${name}.so`);
  if (path === undefined || !existsSync(path)) throw missing(`library '${name}.so'`);
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
