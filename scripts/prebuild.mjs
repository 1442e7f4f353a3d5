#!/usr/bin/env node
/**
 * Writes the prebuilt binaries the npm package ships (run by `npm pack` through "prepack"): builds the product
 * targets of binding.gyp (the addon, native-sidecar-host, the showcase library, the example plugins — no test
 * program) and copies them, without debug sections, to prebuilds/<platform>-<arch>/, where src/native/artifacts.ts
 * finds them at run time. N-API is ABI-stable, so one addon per platform serves every Node ≥ 20.10.
 *
 *   node scripts/prebuild.mjs            build (incrementally) and copy
 *   node scripts/prebuild.mjs --clean    remove prebuilds/ and exit
 *
 * On linux-x64 it also cross-builds linux-arm64 when Debian's cross toolchain is installed (aarch64-linux-gnu-gcc/g++,
 * packages gcc-aarch64-linux-gnu g++-aarch64-linux-gnu): the sources are mirrored into build/cross/linux-arm64/
 * (copied only when changed, so make stays incremental) and built there with the test programs too, which
 * test/prebuild-arm64.test.ts runs under qemu-user. Without the toolchain that target is skipped, saying so.
 *
 * The addon is named native_sidecar.napi.node (node-gyp-build's tag convention). Exit code 0, or 1 with a sentence.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = `${process.platform}-${process.arch}`;
const release = join(root, 'build', 'Release');
/** [built file, shipped name] — the product targets of binding.gyp. */
const PRODUCTS = [
  ['native_sidecar.node', 'native_sidecar.napi.node'],
  ['native-sidecar-host', 'native-sidecar-host'],
  ['ns_showcase.so', 'ns_showcase.so'],
  ['demo.so', 'demo.so'],
  ['echo.so', 'echo.so'],
  ['hash.so', 'hash.so'],
];

if (process.argv.includes('--clean')) {
  rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
  process.exit(0);
}

// npm puts its bundled node-gyp on PATH for scripts; outside npm, `npm_config_node_gyp` or PATH may have it.
// Outside npm: the node-gyp bundled with the npm next to this Node.
const bundledGyp = join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const gyp = process.env.npm_config_node_gyp || (existsSync(bundledGyp) ? bundledGyp : undefined);
const run = (args, cwd = root, env = process.env) => {
  const r = gyp ? spawnSync(process.execPath, [gyp, ...args], { cwd, env, stdio: 'inherit' }) : spawnSync('node-gyp', args, { cwd, env, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`prebuild: node-gyp ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}).`);
    process.exit(1);
  }
};
if (!existsSync(join(root, 'build', 'Makefile'))) run(['configure']);
run(['build']);

/** Copies the products of `releaseDir` to prebuilds/<name>/, stripping debug sections with `stripTool`. */
function ship(releaseDir, name, stripTool) {
  const dir = join(root, 'prebuilds', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const strip = spawnSync(stripTool, ['--version']).status === 0;
  for (const [built, shipped] of PRODUCTS) {
    const from = join(releaseDir, built);
    if (!existsSync(from)) {
      console.error(`prebuild: ${from} was not built.`);
      process.exit(1);
    }
    const to = join(dir, shipped);
    copyFileSync(from, to);
    chmodSync(to, statSync(from).mode & 0o755);
    // Debug sections only: symbols stay, so a crash in them still has names.
    if (strip) execFileSync(stripTool, ['--strip-debug', to]);
  }
  console.log(`prebuild: ${PRODUCTS.length} files in prebuilds/${name}${strip ? ' (debug sections stripped)' : ''}.`);
}
ship(release, target, 'strip');

/** Mirrors `rel` (a file or directory of the repository) into `dest`, copying only files whose bytes changed. */
function mirror(rel, dest) {
  const from = join(root, rel);
  const to = join(dest, rel);
  if (statSync(from).isDirectory()) {
    mkdirSync(to, { recursive: true });
    for (const entry of readdirSync(from)) mirror(join(rel, entry), dest);
    return;
  }
  if (existsSync(to) && readFileSync(to).equals(readFileSync(from))) return;
  copyFileSync(from, to);
}

const CROSS = { arm64: { triple: 'aarch64-linux-gnu' } };
if (target === 'linux-x64') {
  for (const [arch, { triple }] of Object.entries(CROSS)) {
    if (spawnSync(`${triple}-g++`, ['--version']).status !== 0) {
      console.log(`prebuild: linux-${arch} skipped: the cross compiler ${triple}-g++ is not installed (apt-get install gcc-${triple} g++-${triple}).`);
      continue;
    }
    const dir = join(root, 'build', 'cross', `linux-${arch}`);
    mkdirSync(dir, { recursive: true });
    for (const rel of ['binding.gyp', 'package.json', 'native', 'examples/plugins']) mirror(rel, dir);
    if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const env = { ...process.env, CC: `${triple}-gcc`, CXX: `${triple}-g++`, LINK: `${triple}-g++`, AR: `${triple}-ar` };
    // Node's headers do not depend on the architecture: the ones this Node was built with (npm's nodedir) serve.
    const nodedir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
    if (!existsSync(join(dir, 'build', 'Makefile'))) run(['configure', `--arch=${arch}`, `--nodedir=${nodedir}`, '--', '-Dns_tests=true'], dir, env);
    run(['build'], dir, env);
    ship(join(dir, 'build', 'Release'), `linux-${arch}`, `${triple}-strip`);
  }
}
