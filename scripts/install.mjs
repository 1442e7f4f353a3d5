#!/usr/bin/env node
/**
 * The install script of native-sidecar (package.json "install"). What it does depends on what it finds:
 *   - native binaries: a prebuilt set for this platform (prebuilds/<platform>-<arch>/, shipped in the npm package)
 *     or a local build (build/Release) is used as it is — no compiler needed, and with `--ignore-scripts` nothing is
 *     lost; otherwise the product targets of binding.gyp are compiled with npm's node-gyp (needs g++, make, python3);
 *   - dist/: present in the npm package; in a checkout of the repository (a developer's clone, or a folder/git
 *     dependency) it is built with TypeScript when TypeScript is installed.
 * A checkout whose own dependencies were never installed (`npm install ../native-sidecar` from another project)
 * cannot do either: the script says what to run instead of failing on a missing command. Exit code 0, or 1 with a
 * sentence on stderr.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const unbuilt = `run \`npm install\` in ${root} first (it installs the build tools of the checkout and builds it), then install it here again`;

function fail(message) {
  console.error(`native-sidecar: ${message}`);
  process.exit(1);
}

function resolvable(name) {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

function node(args) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  return r.status === 0;
}

// 1. Native binaries.
const target = `${process.platform}-${process.arch}`;
const prebuilt = existsSync(join(root, 'prebuilds', target, 'native_sidecar.napi.node'));
const local = existsSync(join(root, 'build', 'Release', 'native_sidecar.node'));
if (!prebuilt && !local) {
  if (!resolvable('node-addon-api')) fail(`no prebuilt binaries for ${target} and no local build, and the build dependencies are not installed: ${unbuilt}.`);
  const gyp = process.env.npm_config_node_gyp;
  if (!gyp) fail(`no prebuilt binaries for ${target}: build them with \`npm rebuild native-sidecar\` (npm provides node-gyp; needs g++, make, python3).`);
  if (!node([gyp, 'rebuild'])) fail(`building the native binaries for ${target} failed (see above); it needs g++, make and python3.`);
}

// 2. dist/.
if (!existsSync(join(root, 'dist', 'index.js'))) {
  if (!resolvable('typescript/package.json')) fail(`dist/ is missing (this is an unbuilt checkout of the repository): ${unbuilt}.`);
  if (!node([require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')])) fail('building dist/ with TypeScript failed (see above).');
}
