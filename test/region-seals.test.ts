import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { SharedRegion, type RegionError } from '../src/index.js';
import { nativeExecutable } from '../src/sidecar/paths.js';

const C_PEER = nativeExecutable('region_handover_peer');
// region.h return codes of ns_region_check_fd (docs/wire-format.md §1.1)
const NS_REGION_EREADONLY = -13;
const NS_REGION_ENOSEALS = -14;
const NS_REGION_EUNSEALED = -15;

/** Runs the C peer's `map` mode on `fd` (given as its fd 3) and returns what it printed. */
async function cMap(fd: number, trust = false): Promise<string> {
  const child = spawn(C_PEER, ['map', '3', ...(trust ? ['--trust'] : [])], { stdio: ['ignore', 'pipe', 'inherit', fd] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0);
  return out.trim();
}

const VICTIM = fileURLToPath(new URL('./helpers/shrink-victim.js', import.meta.url));
const SIZE = 64 * 1024;
const MFD_CLOEXEC = 1; // <linux/memfd.h>

/** memfd_create() without MFD_ALLOW_SEALING, as a third party would make it: nothing seals its size. */
const memfdCreate = koffi.load('libc.so.6').func('int memfd_create(const char *name, unsigned int flags)') as (
  name: string,
  flags: number,
) => number;

/** The bytes of a valid region (header and one ring), to copy into files that are not sealed memfds. */
function validImage(): Uint8Array {
  using region = SharedRegion.create({ size: SIZE });
  region.createRing(4096);
  return new Uint8Array(region.buffer).slice();
}

/** An unsealed memfd holding a valid region: what issue 8's third party hands over. The caller closes it. */
function unsealedRegionFd(): number {
  const fd = memfdCreate('ns-test-unsealed', MFD_CLOEXEC);
  assert.ok(fd >= 0, 'memfd_create failed');
  ftruncateSync(fd, SIZE);
  writeSync(fd, validImage(), 0, SIZE, 0);
  return fd;
}

function refusedWith(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.equal((e as RegionError).code, 'ERR_REGION_INVALID');
    assert.match((e as Error).message, pattern);
    return true;
  };
}

/** Runs the victim on `fd` as its fd 3; once it reports "mapped", shrinks the file to 4096 bytes and lets it touch. */
async function shrinkUnder(fd: number, mode: 'default' | 'trust'): Promise<{ out: string; code: number | null; signal: string | null }> {
  const child = spawn(process.execPath, [VICTIM, mode], { stdio: ['pipe', 'pipe', 'inherit', fd] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    if (chunk.includes('mapped')) {
      ftruncateSync(fd, 4096); // the creator shrinks its region under the reader
      child.stdin!.write('go\n');
    }
  });
  child.stdin!.on('error', () => {}); // the victim may be gone before it reads
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.once('exit', (c, s) => resolve([c, s])),
  );
  return { out, code, signal };
}

describe('what a region may be mapped from (docs/wire-format.md §1)', () => {
  test('an unsealed memfd is refused, so its creator shrinking it cannot kill the reader with SIGBUS', async () => {
    const fd = unsealedRegionFd();
    try {
      assert.throws(() => SharedRegion.fromFd(fd), refusedWith(/not sealed against shrinking/));
      const { out, code, signal } = await shrinkUnder(fd, 'default');
      assert.equal(signal, null, 'the reader must not die by a signal');
      assert.equal(code, 0);
      assert.equal(out.trim(), 'refused ERR_REGION_INVALID');
    } finally {
      closeSync(fd);
    }
  });

  test('with trustPeer an unsealed memfd is mapped and the documented risk stays: a shrink kills the reader with SIGBUS', async () => {
    const fd = unsealedRegionFd();
    try {
      const { out, signal } = await shrinkUnder(fd, 'trust');
      assert.match(out, /mapped/);
      assert.equal(signal, 'SIGBUS');
    } finally {
      closeSync(fd);
    }
  });

  test('a sealed memfd made by create() is accepted, and shrinking it is impossible', () => {
    using region = SharedRegion.create({ size: SIZE });
    using opened = SharedRegion.fromFd(region.fd);
    assert.equal(opened.size, SIZE);
    assert.throws(() => ftruncateSync(region.fd, 4096), { code: 'EPERM' });
  });

  test('a file in /tmp holding a valid region is refused because it cannot be sealed, and mapped only with trustPeer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-seals-'));
    const path = join(dir, 'region');
    const fd = openSync(path, 'w+');
    try {
      writeSync(fd, validImage(), 0, SIZE, 0);
      // On tmpfs the file supports seals but carries none; on ext4 and others it supports none.
      assert.throws(() => SharedRegion.fromFd(fd), refusedWith(/does not support seals|not sealed against shrinking/));
      using trusted = SharedRegion.fromFd(fd, { trustPeer: true });
      assert.equal(trusted.segments.length, 1);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  });

  test('a read-only fd of a sealed region is refused with ERR_REGION_INVALID, even with trustPeer', () => {
    using region = SharedRegion.create({ size: SIZE });
    const readOnly = openSync(`/proc/self/fd/${region.fd}`, 'r'); // the same memfd, opened O_RDONLY
    try {
      assert.throws(() => SharedRegion.fromFd(readOnly), refusedWith(/read-only/));
      assert.throws(() => SharedRegion.fromFd(readOnly, { trustPeer: true }), refusedWith(/read-only/));
    } finally {
      closeSync(readOnly);
    }
  });

  test('an fd that is not a regular file is refused saying so', () => {
    const devNull = openSync('/dev/null', 'r+');
    try {
      assert.throws(() => SharedRegion.fromFd(devNull, { trustPeer: true }), refusedWith(/not a regular file/));
    } finally {
      closeSync(devNull);
    }
  });

  test('a named region is refused without trustPeer, with a sentence naming the risk, and opened with it', () => {
    using creator = SharedRegion.create({ size: SIZE, name: true });
    try {
      assert.throws(() => SharedRegion.open(creator.name!), refusedWith(/cannot be sealed.*SIGBUS.*trustPeer/));
      using opened = SharedRegion.open(creator.name!, { trustPeer: true });
      assert.equal(opened.size, SIZE);
    } finally {
      creator.unlink();
    }
  });

  test('trustPeer must be a boolean, and options an object', () => {
    using region = SharedRegion.create({ size: SIZE });
    assert.throws(() => SharedRegion.fromFd(region.fd, { trustPeer: 'yes' as never }), /'options.trustPeer'/);
    assert.throws(() => SharedRegion.fromFd(region.fd, null as never), /'options'/);
    assert.throws(() => SharedRegion.open('/x', { trustPeer: 1 as never }), { code: 'ERR_INVALID_ARG' });
  });

  test('C programs follow the same rule: ns_region_map_fd maps a sealed memfd and refuses the rest with named codes', async () => {
    using sealed = SharedRegion.create({ size: SIZE });
    assert.equal(await cMap(sealed.fd), 'mapped');
    const unsealed = unsealedRegionFd();
    const readOnly = openSync(`/proc/self/fd/${sealed.fd}`, 'r');
    const dir = mkdtempSync(join(tmpdir(), 'ns-seals-'));
    const file = openSync(join(dir, 'region'), 'w+');
    try {
      assert.match(await cMap(unsealed), new RegExp(`^refused ${NS_REGION_EUNSEALED} is not sealed against shrinking`));
      assert.equal(await cMap(unsealed, true), 'mapped');
      assert.match(await cMap(readOnly, true), new RegExp(`^refused ${NS_REGION_EREADONLY} was opened read-only`));
      writeSync(file, validImage(), 0, SIZE, 0);
      assert.match(await cMap(file), new RegExp(`^refused (${NS_REGION_ENOSEALS}|${NS_REGION_EUNSEALED}) `));
      assert.equal(await cMap(file, true), 'mapped');
    } finally {
      closeSync(unsealed);
      closeSync(readOnly);
      closeSync(file);
      rmSync(dir, { recursive: true });
    }
  });
});
