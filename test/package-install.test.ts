/**
 * The package as a user gets it (issue 10): `npm pack`, then install the tarball into a fresh project on a PATH
 * that holds nothing but `node` — no gcc, cc, g++, make or python — once with `--ignore-scripts` and once with scripts
 * (the install script, node-gyp-build, must find the prebuilt binaries and compile nothing). A consumer program
 * type-checks in strict mode against the shipped .d.ts and runs a Sidecar in both modes; `npx native-sidecar demo`
 * (the bin link) and the subpaths native-sidecar/showcase and includeDir() work from the installed package.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** npm's own CLI script, run with this Node (so the test does not depend on which npm PATH has). */
function npmCli(): string {
  const fromEnv = process.env.npm_execpath;
  if (fromEnv !== undefined && existsSync(fromEnv)) return fromEnv;
  const candidate = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  assert.ok(existsSync(candidate), `npm's CLI was not found (npm_execpath unset and ${candidate} missing)`);
  return candidate;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.error, undefined, `${cmd} ${args.join(' ')}: ${r.error?.message}`);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

const CONSUMER = `import { Sidecar, SidecarError, examplePluginPath, type SidecarExit, type SidecarMode } from 'native-sidecar';

async function main(): Promise<void> {
  for (const mode of ['thread', 'process'] satisfies SidecarMode[]) {
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode });
    sidecar.on('error', (e: Error) => console.error(e.message));
    sidecar.on('exit', (e: SidecarExit) => console.log(\`\${mode} exit \${e.reason}\`));
    const reply: Uint8Array = await sidecar.request('hello');
    console.log(\`\${mode} reply \${new TextDecoder().decode(reply)} confined \${sidecar.sandbox?.layers.landlockFilesystem ?? 'n/a'}\`);
    await sidecar.stop();
  }
  try {
    await Sidecar.start({ plugin: '/no/such/plugin.so' });
  } catch (e) {
    console.log(e instanceof SidecarError ? e.code : 'untyped');
  }
}
await main();
`;

test('the packed tarball installs without a compiler or install scripts, type-checks in strict mode and runs both modes', { timeout: 600_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'ns-package-'));
  try {
    run(process.execPath, [npmCli(), 'pack', '--pack-destination', work, '--silent'], ROOT);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball !== undefined, 'npm pack wrote a tarball');

    // A PATH with node and sh alone: whatever tries to compile fails.
    const bin = join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync('/bin/sh', join(bin, 'sh')); // npm runs scripts with sh
    const bare = { ...process.env, PATH: bin };
    assert.notEqual(spawnSync('gcc', ['--version'], { env: bare }).status, 0, 'no compiler is reachable on the bare PATH');

    for (const scripts of ['--ignore-scripts', '--foreground-scripts']) {
      const project = join(work, `consumer${scripts}`);
      mkdirSync(project);
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
      run(process.execPath, [npmCli(), 'install', scripts, '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball)], project, bare);
      assert.equal(existsSync(join(project, 'node_modules', 'native-sidecar', 'build')), false, 'nothing was compiled');

      writeFileSync(join(project, 'main.ts'), CONSUMER);
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noUncheckedIndexedAccess: true,
            exactOptionalPropertyTypes: true,
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            types: ['node'],
            typeRoots: [join(ROOT, 'node_modules', '@types')],
            outDir: 'out',
          },
          files: ['main.ts'],
        }),
      );
      run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project, bare);
      const out = run(process.execPath, ['out/main.js'], project, bare).stdout.trim().split('\n');
      assert.deepEqual(out, [
        'thread reply hello confined n/a',
        'thread exit stopped',
        'process reply hello confined true',
        'process exit stopped',
        'ERR_SIDECAR_START',
      ]);

      // The command line as npx runs it (the bin link npm made), and the subpath exports.
      const demo = run(join(project, 'node_modules', '.bin', 'native-sidecar'), ['demo', '--mode', 'process'], project, bare);
      assert.equal(demo.stdout, '[Host] Init\n[Host] Process: 50-49-4E-47\n[Host] Event 1: OK\n[Host] Dispose\n');
      const subpaths = `import { existsSync } from 'node:fs';
        import { includeDir } from 'native-sidecar';
        import { openInteropBinding } from 'native-sidecar/showcase';
        console.log(existsSync(includeDir() + '/native_sidecar/plugin.h'), typeof openInteropBinding);`;
      assert.equal(run(process.execPath, ['--input-type=module', '-e', subpaths], project, bare).stdout, 'true function\n');
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a folder dependency on an unbuilt checkout fails with a sentence that says what to run, not with a missing command', { timeout: 300_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'ns-folder-dep-'));
  try {
    // The checkout: the tracked files of this repository, without node_modules, build/, dist/ or prebuilds/.
    const checkout = join(work, 'native-sidecar');
    const files = run('git', ['ls-files', '-z'], ROOT).stdout.split('\0').filter((f) => f !== '' && !f.startsWith('test/') && !f.startsWith('native/fuzz/'));
    for (const f of files) {
      mkdirSync(dirname(join(checkout, f)), { recursive: true });
      writeFileSync(join(checkout, f), readFileSync(join(ROOT, f)));
    }
    const project = join(work, 'consumer');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
    const r = spawnSync(process.execPath, [npmCli(), 'install', '--foreground-scripts', '--no-audit', '--no-fund', checkout], { cwd: project, encoding: 'utf8', timeout: 240_000 });
    assert.notEqual(r.status, 0, 'the install cannot succeed: the checkout has neither binaries nor dist/ nor its build tools');
    assert.match(r.stderr + r.stdout, /native-sidecar: no prebuilt binaries for \S+ and no local build, and the build dependencies are not installed: run `npm install` in \S+ first/);
    assert.doesNotMatch(r.stderr + r.stdout, /not found|ENOENT/, 'no missing-command error');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
