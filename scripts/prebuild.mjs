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
 * The addon is named native_sidecar.napi.node (node-gyp-build's tag convention). Exit code 0, or 1 with a sentence.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = `${process.platform}-${process.arch}`;
const out = join(root, 'prebuilds', target);
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
const gyp = process.env.npm_config_node_gyp;
const run = (args) => {
  const r = gyp ? spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: 'inherit' }) : spawnSync('node-gyp', args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`prebuild: node-gyp ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}).`);
    process.exit(1);
  }
};
if (!existsSync(join(root, 'build', 'Makefile'))) run(['configure']);
run(['build']);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const strip = spawnSync('strip', ['--version']).status === 0;
for (const [built, shipped] of PRODUCTS) {
  const from = join(release, built);
  if (!existsSync(from)) {
    console.error(`prebuild: ${from} was not built.`);
    process.exit(1);
  }
  const to = join(out, shipped);
  copyFileSync(from, to);
  chmodSync(to, statSync(from).mode & 0o755);
  // Debug sections only: symbols stay, so a crash in them still has names.
  if (strip) execFileSync('strip', ['--strip-debug', to]);
}
console.log(`prebuild: ${PRODUCTS.length} files in prebuilds/${target}${strip ? ' (debug sections stripped)' : ''}.`);
