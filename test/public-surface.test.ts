/**
 * The public surface is the product (issue 10, docs/architecture.md "Public surface"): the built entry that a
 * consumer imports as 'native-sidecar' exports exactly the names listed here — a new export, intended or not, fails
 * this test until it is added to the list — and the interop showcase and the C headers are reached through their own
 * subpaths. The imports go through the package name (self-reference: package.json has "name" and "exports"), so
 * they resolve exactly as in a project that depends on native-sidecar.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

// .out/test/public-surface.test.js → the package directory is two levels up.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Values (runtime exports) of the main entry. */
const ENTRY_VALUES = [
  'BufferPoolError',
  'DEFAULT_SPIN_SLICE_MICROS',
  'DEFAULT_SPIN_THEN_PARK_MICROS',
  'DEFAULT_WAIT_POLICY',
  'EventfdParker',
  'MAX_SPIN_MICROS',
  'NativeParker',
  'NativeSidecarError',
  'PoolOwner',
  'PoolReader',
  'RegionError',
  'RegionServer',
  'Ring',
  'RingError',
  'SharedRegion',
  'Sidecar',
  'SidecarError',
  'SidecarPool',
  'buffersLayout',
  'decodeHandle',
  'defaultParker',
  'encodeHandle',
  'examplePluginPath',
  'includeDir',
  'initBufferPool',
  'regionLayout',
  'ringLayout',
  'setDefaultParkerFactory',
  'sidecarLayout',
];

/** Types (and interfaces) the entry's declarations add to its values. */
const ENTRY_TYPES = [
  'BufferHandle',
  'BufferPoolInit',
  'ErrorCode',
  'ExamplePlugin',
  'MemberChange',
  'MemberState',
  'MemberStats',
  'NativeParkerOptions',
  'ParkResult',
  'Parker',
  'ParkerMechanism',
  'Percentiles',
  'PoolLimits',
  'PoolOwnerOptions',
  'PoolOwnerStats',
  'PoolReaderOptions',
  'PoolBroadcastOptions',
  'PoolEvent',
  'PoolEventMap',
  'PoolExit',
  'PoolPoison',
  'PoolRequestOptions',
  'PoolSendOptions',
  'PoolSize',
  'PoolStats',
  'PoolStopOptions',
  'RegionConnectOptions',
  'RegionPeer',
  'RegionServeOptions',
  'RequestKey',
  'RequestOptions',
  'RestartPolicy',
  'RingAttachOptions',
  'RingCreateOptions',
  'RingRecord',
  'RingSalvage',
  'RingWaitOptions',
  'SalvagedRecord',
  'SandboxLimits',
  'SandboxOptions',
  'SandboxReport',
  'SchedulingOptions',
  'SchedulingPolicy',
  'SchedulingReport',
  'SegmentInfo',
  'SendOptions',
  'SharedRegionCreateOptions',
  'SharedRegionOpenOptions',
  'SidecarEvent',
  'SidecarEventMap',
  'SidecarExit',
  'SidecarExitReason',
  'SidecarHost',
  'SidecarMode',
  'SidecarOptions',
  'SidecarPoison',
  'SidecarPoolOptions',
  'SidecarRestart',
  'StopOptions',
  'WaitMode',
  'WaitPolicy',
  'WatchdogOptions',
];

const SHOWCASE_VALUES = ['FNV_OFFSET_BASIS', 'InteropError', 'fnv1aU32', 'fnv1aU32Sequence', 'openInteropBinding', 'showcaseLibraryPath'];

/** Every name (value or type) that the declaration file `dts` exports, as TypeScript sees it. */
function declaredExports(dts: string): string[] {
  const program = ts.createProgram([dts], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(dts);
  assert.ok(source !== undefined, `${dts} was compiled`);
  const symbol = checker.getSymbolAtLocation(source);
  assert.ok(symbol !== undefined, `${dts} is a module`);
  return checker.getExportsOfModule(symbol).map((s) => s.getName()).sort();
}

const sorted = (names: readonly string[]): string[] => [...names].sort();

describe('the public surface', () => {
  test("'native-sidecar' resolves to the built entry dist/index.js", () => {
    assert.equal(import.meta.resolve('native-sidecar'), pathToFileURL(join(root, 'dist', 'index.js')).href);
  });

  test("the built entry exports exactly the product's values: no showcase, no test peers, no internal helpers", async () => {
    const entry = (await import('native-sidecar')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(entry).sort(), sorted(ENTRY_VALUES));
    for (const internal of ['invalidArg', 'checkInteger', 'fromNative', 'openInteropBinding', 'InteropError', 'RingPeerThread', 'loadAddon']) {
      assert.equal(internal in entry, false, `${internal} is not exported`);
    }
  });

  test("the entry's type declarations export exactly the product's values and types", () => {
    assert.deepEqual(declaredExports(join(root, 'dist', 'index.d.ts')), sorted([...ENTRY_VALUES, ...ENTRY_TYPES]));
  });

  test('the layout namespaces are the wire-format constants of ring, region and sidecar', async () => {
    const { ringLayout, regionLayout, sidecarLayout } = await import('native-sidecar');
    assert.equal(typeof ringLayout.RING_MAGIC, 'number');
    assert.equal(typeof regionLayout.REGION_MAGIC, 'number');
    assert.equal(sidecarLayout.SIDECAR_MAGIC, 0x4353534e);
  });

  test("'native-sidecar/showcase' is the interop showcase, and its errors are the entry's NativeSidecarErrors", async () => {
    assert.equal(import.meta.resolve('native-sidecar/showcase'), pathToFileURL(join(root, 'dist', 'showcase', 'index.js')).href);
    const showcase = (await import('native-sidecar/showcase')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(showcase).sort(), sorted(SHOWCASE_VALUES));
    const { InteropError } = await import('native-sidecar/showcase');
    const { NativeSidecarError } = await import('native-sidecar');
    assert.ok(new InteropError('ERR_DEADLOCK', 'x') instanceof NativeSidecarError);
    const { openInteropBinding } = await import('native-sidecar/showcase');
    const binding = await openInteropBinding('napi');
    binding.close();
  });

  test('includeDir() is the absolute native/include folder, and native-sidecar/include/* resolves a header in it', async () => {
    const { includeDir } = await import('native-sidecar');
    const dir = includeDir();
    assert.equal(dir, join(root, 'native', 'include'));
    for (const header of ['plugin.h', 'ring.h', 'region.h', 'layout.h']) assert.ok(existsSync(join(dir, 'native_sidecar', header)), header);
    assert.equal(
      import.meta.resolve('native-sidecar/include/native_sidecar/plugin.h'),
      pathToFileURL(join(dir, 'native_sidecar', 'plugin.h')).href,
    );
  });

  test('every conditional export of package.json names "types" first and points at a file the build made', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> };
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      if (typeof target === 'string') continue;
      assert.equal(Object.keys(target)[0], 'types', `${subpath}: "types" comes first`);
      for (const file of Object.values(target)) assert.ok(existsSync(join(root, file)), `${subpath}: ${file} exists`);
    }
    assert.deepEqual(Object.keys(manifest.exports), ['.', './showcase', './include/*', './package.json']);
  });
});
