/**
 * The test hook NATIVE_SIDECAR_ADDON_PATH of src/native/addon.ts (used by native/test/sanitize-addon.sh to run tests
 * against the addon built under ASan+UBSan): it loads the file it names, and a file that does not exist is the typed
 * error ERR_ADDON_MISSING naming the variable, not a fallback to build/Release.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { ADDON_PATH_ENV } from '../src/native/addon.js';
import { packageRoot } from './helpers/native-programs.js';

const ADDON_URL = new URL('../src/native/addon.js', import.meta.url).href;

/** Loads the addon in a fresh Node process with `env` added; prints the loaded .node files or the error's code. */
function loadIn(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const script = `import { createRequire } from 'node:module';
    import { loadAddon } from ${JSON.stringify(ADDON_URL)};
    try {
      const addon = loadAddon();
      if (typeof addon.FutexWaiter !== 'function') throw new Error('not the addon');
      console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache).filter((p) => p.endsWith('.node'))));
    } catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

test(`${ADDON_PATH_ENV} makes loadAddon load the .node file it names instead of build/Release's`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ns-addon-path-'));
  try {
    const copy = join(dir, 'copy.node');
    copyFileSync(join(packageRoot, 'build', 'Release', 'native_sidecar.node'), copy);
    const run = loadIn({ [ADDON_PATH_ENV]: copy });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), [copy]);
    const unset = loadIn({ [ADDON_PATH_ENV]: '' }); // empty counts as unset
    assert.deepEqual(JSON.parse(unset.stdout), [join(packageRoot, 'build', 'Release', 'native_sidecar.node')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${ADDON_PATH_ENV} naming a missing file throws ERR_ADDON_MISSING naming the variable, with no fallback`, () => {
  const missing = join(tmpdir(), 'ns-addon-path-missing', 'native_sidecar.node');
  const run = loadIn({ [ADDON_PATH_ENV]: missing });
  assert.equal(run.status, 0, run.stderr);
  const error = JSON.parse(run.stdout) as { code: string; message: string };
  assert.equal(error.code, 'ERR_ADDON_MISSING');
  assert.match(error.message, new RegExp(`${missing.replace(/[.]/g, '\\.')} named by ${ADDON_PATH_ENV}`));
});
