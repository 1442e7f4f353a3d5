/**
 * Where the native artefacts of the package are, resolved in one place. Two places are searched, in this order (the
 * node-gyp-build convention, https://github.com/prebuild/node-gyp-build):
 *   1. build/Release — a local build (`npm install` from source with a compiler, or a developer's checkout): it wins,
 *      so a rebuild is always what runs;
 *   2. prebuilds/<platform>-<arch>/ — the binaries shipped inside the npm package (scripts/prebuild.mjs writes them
 *      at `npm pack`), so an install needs neither a compiler nor install scripts.
 * The addon itself is found by node-gyp-build's own resolver (tags such as `napi` in its file name); executables and
 * shared libraries (native-sidecar-host, the showcase library, the example plugins) by file name, beside it.
 *
 * Threading: any thread; results are cached per thread (module instance).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'native-sidecar';
/** dist/native → 2 levels; .out/src/native → 3. */
const SEARCH_DEPTH = 4;

let root: string | undefined | null = null;

/** The package directory (the nearest ancestor of this module whose package.json is this package's), or undefined. */
export function packageRoot(): string | undefined {
  if (root !== null) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i <= SEARCH_DEPTH; i++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return (root = dir);
      } catch {
        // an unreadable manifest on the way up is not ours
      }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return (root = undefined);
}

/** The directory name of this platform's prebuilt binaries, e.g. 'linux-x64'. */
export function prebuildTarget(): string {
  return `${process.platform}-${process.arch}`;
}

/** The directories searched for native artefacts, in order (see above). */
export function artifactDirs(): string[] {
  const dir = packageRoot();
  if (dir === undefined) return [];
  return [join(dir, 'build', 'Release'), join(dir, 'prebuilds', prebuildTarget())];
}

/** The first existing `file` (an executable or a shared library name) in artifactDirs(), or undefined. */
export function findArtifact(file: string): string | undefined {
  for (const dir of artifactDirs()) {
    const candidate = join(dir, file);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The addon's .node file as node-gyp-build resolves it (local build first, then a matching prebuild), or undefined. */
export function addonFile(): string | undefined {
  const dir = packageRoot();
  if (dir === undefined) return undefined;
  try {
    const gypBuild = createRequire(import.meta.url)('node-gyp-build') as { resolve(dir: string): string };
    return gypBuild.resolve(dir);
  } catch {
    return undefined; // "No native build was found": the caller says what to do
  }
}
