import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eventually, processExists } from './helpers/sidecar-env.js';

function shmEntries(): string[] {
  try {
    return readdirSync('/dev/shm').sort();
  } catch {
    return [];
  }
}

/** Processes whose open files include a memfd region of native-sidecar (a leftover would show up here). */
function processesMappingPid(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).includes('memfd:');
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

test('when the host is killed with SIGKILL the sidecar process exits and leaves nothing in /dev/shm or /proc', async () => {
  const shmBefore = shmEntries();
  const script = fileURLToPath(new URL('./helpers/sidecar-host-child.js', import.meta.url));
  const host = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const line = await new Promise<string>((resolve, reject) => {
    host.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('\n')) resolve(output.split('\n')[0]!);
    });
    host.once('exit', (code) => reject(new Error(`the host child exited early with code ${String(code)}`)));
  });
  const { sidecarPid } = JSON.parse(line) as { sidecarPid: number };
  assert.ok(processExists(sidecarPid), 'the sidecar runs while its host lives');
  assert.notEqual(sidecarPid, host.pid);

  const hostExited = new Promise((resolve) => host.once('exit', resolve));
  host.kill('SIGKILL');
  await hostExited;

  assert.ok(await eventually(() => !processExists(sidecarPid), 10_000), `sidecar ${sidecarPid} is gone after its host died`);
  assert.ok(!processExists(host.pid!), 'the host is gone');
  assert.equal(processesMappingPid(sidecarPid), false);
  assert.deepEqual(shmEntries(), shmBefore, 'no shared-memory name was left in /dev/shm');
});
