import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sidecar } from '../src/index.js';
import { MODES } from './helpers/sidecar-env.js';

const root = fileURLToPath(new URL('../..', import.meta.url)); // .out/test → package directory

test('the minimal plugin of docs/plugin-abi.md builds with its one gcc command and runs in both modes', async () => {
  const doc = readFileSync(join(root, 'docs', 'plugin-abi.md'), 'utf8');
  const code = /```c\n([\s\S]*?)```/.exec(doc)?.[1];
  const command = /```sh\n(gcc [^\n]*)\n```/.exec(doc)?.[1];
  assert.ok(code !== undefined && command !== undefined, 'the page has the C code and the gcc command');
  assert.equal(command, 'gcc -shared -fPIC -O2 -I native/include -o upper.so upper.c');
  const dir = mkdtempSync(join(tmpdir(), 'ns-upper-'));
  try {
    writeFileSync(join(dir, 'upper.c'), code);
    const args = command.split(' ').slice(1).map((a) => (a === 'native/include' ? join(root, 'native', 'include') : a));
    execFileSync('gcc', args, { cwd: dir, stdio: 'inherit' });
    for (const mode of MODES) {
      const sidecar = await Sidecar.start({ plugin: join(dir, 'upper.so'), mode });
      const counts: number[] = [];
      sidecar.on('event', (id: number, data: Uint8Array) => {
        assert.equal(id, 1);
        counts.push(new DataView(data.buffer, data.byteOffset).getUint32(0, true));
      });
      assert.equal(new TextDecoder().decode(await sidecar.request('hello')), 'HELLO');
      await sidecar.send('x');
      await sidecar.stop();
      assert.deepEqual(counts, [1, 2]);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});
