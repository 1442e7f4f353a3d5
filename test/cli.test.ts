/**
 * The command line `npx native-sidecar` (package.json "bin" → dist/cli/main.js): its subcommands demo, doctor and
 * bench, its help and its usage errors. Each test runs the built file in a fresh Node process, as npx would.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nativeExecutable } from '../src/sidecar/paths.js';

// .out/test/cli.test.js → the package directory is two levels up.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
const bin = join(root, manifest.bin['native-sidecar'] ?? 'no bin entry');

const DEMO_LINES = '[Host] Init\n[Host] Process: 50-49-4E-47\n[Host] Event 1: OK\n[Host] Dispose\n';
const DOCTOR_ITEMS = [
  'platform',
  'kernel',
  'node',
  'addon',
  'native-sidecar-host',
  'memfd_create',
  'futex',
  'eventfd',
  'landlock',
  'seccomp',
  'user namespaces',
  'thread mode',
  'process mode',
];
const LINE = /^(ok {7}|missing {2})([a-z_ -]+): (.+)$/;

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <script> ...args` (optionally under a wrapper program), killing it after 60 s. */
function cli(args: string[], options: { script?: string; wrapper?: string[] } = {}): Run {
  const command = [...(options.wrapper ?? []), process.execPath, options.script ?? bin, ...args];
  const r = spawnSync(command[0] ?? '', command.slice(1), { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The doctor's item lines by name: status and detail. */
function doctorLines(stdout: string): Map<string, { status: string; detail: string }> {
  const lines = stdout.trimEnd().split('\n');
  const items = lines.slice(0, -1).map((line) => {
    const m = LINE.exec(line);
    assert.ok(m !== null, `'${line}' has the form "<ok|missing> <item>: <detail>"`);
    return [m[2] ?? '', { status: (m[1] ?? '').trim(), detail: m[3] ?? '' }] as const;
  });
  assert.deepEqual(items.map(([name]) => name), DOCTOR_ITEMS, 'one line per item, in order, then a summary');
  return new Map(items);
}

/** A copy of the built package without its native build (dist/ and package.json only). */
let bare: string | undefined;
function barePackage(): string {
  if (bare !== undefined) return bare;
  bare = mkdtempSync(join(tmpdir(), 'ns-cli-bare-'));
  cpSync(join(root, 'dist'), join(bare, 'dist'), { recursive: true });
  cpSync(join(root, 'package.json'), join(bare, 'package.json'));
  return bare;
}
after(() => {
  if (bare !== undefined) rmSync(bare, { recursive: true, force: true });
});

describe('npx native-sidecar', () => {
  test('the bin entry native-sidecar is dist/cli/main.js, a Node script with a shebang', () => {
    assert.equal(manifest.bin['native-sidecar'], 'dist/cli/main.js');
    assert.equal(readFileSync(bin, 'utf8').split('\n')[0], '#!/usr/bin/env node');
  });

  test('--help prints the usage with every command and exits 0', () => {
    const r = cli(['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: native-sidecar <command> \[options\]/);
    for (const command of ['demo', 'doctor', 'bench', 'stat']) assert.match(r.stdout, new RegExp(`^  ${command} `, 'm'));
    assert.equal(r.stderr, '');
    assert.equal(cli(['demo', '-h']).stdout, r.stdout, 'a command prints the same usage for -h');
  });

  test('an unknown command exits 2 with its name and the usage on stderr', () => {
    const r = cli(['frobnicate']);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^native-sidecar: unknown command 'frobnicate'\.\nusage: native-sidecar <command>/);
  });

  test('no command, an unknown option and a bad --mode exit 2 with the usage', () => {
    for (const [args, said] of [
      [[], /a command is missing/],
      [['demo', '--bogus'], /Unknown option '--bogus'/],
      [['demo', '--mode', 'fiber'], /--mode must be 'thread' or 'process', not 'fiber'/],
      [['doctor', 'extra'], /Unexpected argument 'extra'/],
    ] as const) {
      const r = cli([...args]);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, said);
      assert.match(r.stderr, /usage: native-sidecar/);
    }
  });

  for (const mode of ['thread', 'process'] as const) {
    test(`demo --mode ${mode} prints exactly the four demo lines and exits 0`, () => {
      const r = cli(mode === 'thread' ? ['demo'] : ['demo', '--mode', 'process']);
      assert.equal(r.signal, null, 'it ended by itself');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, DEMO_LINES);
      assert.equal(r.stderr, '');
    });
  }

  test('npm start runs the demo of the CLI', () => {
    assert.equal(manifest.scripts.start, 'node dist/cli/main.js demo');
  });

  test('doctor prints one ok line per item and exits 0 on a machine that has everything', () => {
    const r = cli(['doctor']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const items = doctorLines(r.stdout);
    for (const [name, { status, detail }] of items) {
      if (name !== 'user namespaces') assert.equal(status, 'ok', `${name}: ${detail}`);
    }
    assert.match(items.get('landlock')?.detail ?? '', /^ABI \d+/);
    assert.match(items.get('node')?.detail ?? '', new RegExp(`^${process.version.replace(/\./g, '\\.')} `));
    assert.equal(r.stdout.trimEnd().split('\n').at(-1), 'native-sidecar has everything it needs here.');
  });

  test('doctor on a kernel without Landlock says missing with what to do, and exits 1', () => {
    const r = cli(['doctor'], { wrapper: [nativeExecutable('deny_syscalls'), 'landlock'] });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const items = doctorLines(r.stdout);
    assert.equal(items.get('landlock')?.status, 'missing');
    assert.match(items.get('landlock')?.detail ?? '', /ABI 0.*ERR_SANDBOX_UNAVAILABLE.*bestEffort/);
    assert.equal(items.get('seccomp')?.status, 'ok');
    assert.equal(r.stdout.trimEnd().split('\n').at(-1), '1 needed item is missing: landlock.');
  });

  test('doctor without seccomp filter mode says missing and exits 1', () => {
    const r = cli(['doctor'], { wrapper: [nativeExecutable('deny_syscalls'), 'seccomp'] });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(doctorLines(r.stdout).get('seccomp')?.status, 'missing');
    assert.equal(r.stdout.trimEnd().split('\n').at(-1), '1 needed item is missing: seccomp.');
  });

  test('doctor without user namespaces reports them missing as optional and still exits 0', () => {
    const r = cli(['doctor'], { wrapper: [nativeExecutable('deny_syscalls'), 'userns'] });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const userns = doctorLines(r.stdout).get('user namespaces');
    assert.equal(userns?.status, 'missing');
    assert.match(userns?.detail ?? '', /Optional: .*sysctl/);
  });

  test('doctor of a package without its native binaries says how to build them, and exits 1', () => {
    const r = cli(['doctor'], { script: join(barePackage(), 'dist', 'cli', 'main.js') });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const items = doctorLines(r.stdout);
    for (const name of ['addon', 'native-sidecar-host']) {
      assert.equal(items.get(name)?.status, 'missing');
      assert.match(items.get(name)?.detail ?? '', /neither in build\/Release nor in prebuilds\/.*`npm rebuild native-sidecar`/);
    }
    assert.equal(items.get('platform')?.status, 'ok');
    assert.match(items.get('futex')?.detail ?? '', /^not checked: the addon is missing/);
  });

  test('bench says it runs npm run bench and hands its arguments to the runner', () => {
    const r = cli(['bench', '--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^native-sidecar bench: running npm run bench -- --help /);
    assert.match(r.stderr, /usage: npm run bench -- \[suite\.\.\.\]/, "the runner's own usage");
  });

  test('bench hands the runner its flags and its exit code: an --only that selects nothing exits 2', () => {
    const r = cli(['bench', 'ring', '--smoke', '--only', 'nothing.matches.this']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^native-sidecar bench: running npm run bench -- ring --smoke --only nothing\.matches\.this /);
    assert.match(r.stderr, /The --only patterns nothing\.matches\.this select no scenario of the suites ring\./);
  });

  test('bench without the repository benchmark runner says where it is and exits 1', () => {
    const r = cli(['bench'], { script: join(barePackage(), 'dist', 'cli', 'main.js') });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /runs `npm run bench`.*\.out\/bench\/run\.js.*does not ship it.*clone the repository/s);
  });
});
