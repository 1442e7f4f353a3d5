/**
 * The linux-arm64 prebuilt binaries (issue 10): scripts/prebuild.mjs cross-builds them with Debian's
 * aarch64-linux-gnu toolchain, and this file runs what an x64 machine can run of them under qemu-user — the sidecar
 * executable, the C ring tests (unit and two-thread stress with futexes), the conformance vectors and the layout
 * dumps, which must equal the x64 ones byte for byte. The arm64 addon itself is only checked to be an aarch64 ELF:
 * loading it needs an arm64 Node, which this machine does not have. Skips, saying what to install, without the
 * toolchain or qemu (.ci/run installs both).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeProgram } from './helpers/native-programs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PREBUILT = join(ROOT, 'prebuilds', 'linux-arm64');
const CROSS_RELEASE = join(ROOT, 'build', 'cross', 'linux-arm64', 'build', 'Release');
const SYSROOT = '/usr/aarch64-linux-gnu';
const EM_AARCH64 = 183;

const missing =
  process.platform !== 'linux' || process.arch !== 'x64'
    ? 'the cross build is made on linux-x64 only'
    : spawnSync('aarch64-linux-gnu-g++', ['--version']).status !== 0
      ? 'the cross compiler is missing: apt-get install -y gcc-aarch64-linux-gnu g++-aarch64-linux-gnu'
      : spawnSync('qemu-aarch64', ['--version']).status !== 0 || !existsSync(SYSROOT)
        ? 'qemu-user is missing: apt-get install -y qemu-user'
        : undefined;

function qemu(program: string, args: string[], timeout = 300_000): SpawnSyncReturns<string> {
  return spawnSync('qemu-aarch64', ['-L', SYSROOT, join(CROSS_RELEASE, program), ...args], { encoding: 'utf8', timeout });
}

describe('the linux-arm64 prebuilt binaries', { skip: missing }, () => {
  test('scripts/prebuild.mjs cross-builds every product file of linux-arm64 as an aarch64 ELF', { timeout: 600_000 }, () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'prebuild.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /6 files in prebuilds\/linux-arm64/);
    const files = readdirSync(PREBUILT).sort();
    assert.deepEqual(files, ['demo.so', 'echo.so', 'hash.so', 'native-sidecar-host', 'native_sidecar.napi.node', 'ns_showcase.so']);
    for (const f of files) {
      const elf = readFileSync(join(PREBUILT, f));
      assert.equal(elf.subarray(0, 4).toString('latin1'), '\x7fELF', `${f} is an ELF file`);
      assert.equal(elf.readUInt16LE(18), EM_AARCH64, `${f} is built for aarch64`);
    }
  });

  test('the arm64 native-sidecar-host runs under qemu and refuses missing arguments with its usage (exit 64 + 9)', () => {
    const r = spawnSync('qemu-aarch64', ['-L', SYSROOT, join(PREBUILT, 'native-sidecar-host')], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 64 + 9, r.stderr);
    assert.match(r.stderr, /usage: native-sidecar-host --fd N/);
  });

  test('the C ring tests pass on arm64 under qemu, the two-thread stress with futexes included', () => {
    const r = qemu('ring_test', ['--stress-records', '100000']);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const summary = /^(\d+) passed, (\d+) failed$/m.exec(r.stdout);
    assert.ok(summary !== null && Number(summary[1]) > 20 && summary[2] === '0', r.stdout);
  });

  test('the arm64 layout dumps equal the x64 ones: one spec on both architectures', () => {
    for (const dump of ['layout_dump', 'sidecar_layout_dump']) {
      const arm = qemu(dump, []);
      assert.equal(arm.status, 0, arm.stderr);
      const x64 = spawnSync(nativeProgram(dump), [], { encoding: 'utf8' });
      assert.equal(arm.stdout, x64.stdout, `${dump} differs between arm64 and x64`);
    }
  });

  test('the arm64 C ring writes the committed conformance vectors byte for byte and reads every vector as the x64 one does', () => {
    const out = mkdtempSync(join(tmpdir(), 'ns-arm64-vectors-'));
    try {
      const w = qemu('ring_vectors', ['write', out]);
      assert.equal(w.status, 0, w.stderr);
      const committed = join(ROOT, 'test', 'vectors', 'c');
      for (const f of readdirSync(committed).filter((n) => n.endsWith('.bin'))) {
        assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(committed, f))), `${f} written on arm64 equals the committed vector`);
      }
      for (const dir of ['c', 'ts']) {
        for (const f of readdirSync(join(ROOT, 'test', 'vectors', dir)).filter((n) => n.endsWith('.bin'))) {
          const file = join(ROOT, 'test', 'vectors', dir, f);
          const arm = qemu('ring_vectors', ['read', file]);
          const x64 = spawnSync(nativeProgram('ring_vectors'), ['read', file], { encoding: 'utf8' });
          assert.equal(arm.stdout, x64.stdout, `reading ${dir}/${f}`);
          assert.equal(arm.status, x64.status, `exit status reading ${dir}/${f}`);
        }
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
