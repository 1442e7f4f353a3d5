/**
 * The README's pool (docs/pool.md): two crash-isolated members running the hash example plugin, requests spread over
 * them, one request cancelled while it runs — its member's process is killed, so the work really stops, and is
 * restarted at once — then the pool's metrics and a draining stop. Run: `node .out/examples/pool.js`.
 *
 * Expected output:
 *   4 digests of 32 bytes from 2 members
 *   aborted: ERR_ABORTED
 *   member 0 restarted (cancel)
 *   stats: 4 completed, 1 failed, 1 cancel kill, run time p99 > 0 ms
 *   stopped: 0 dropped
 */
import { SidecarPool, examplePluginPath } from 'native-sidecar';

const rounds = new Uint8Array(new Uint32Array([200_000]).buffer); // hash.c: SHA-256 iterated this many times per request
await using pool = await SidecarPool.start({
  plugin: examplePluginPath('hash'),
  size: 2,            // or { min, max }: grows with load, shrinks after idleTimeoutMs
  config: rounds,     // every option of Sidecar.start() is passed to each member (mode 'process' is the pool's default)
});
pool.on('error', (error) => console.error(`pool error: ${error.message}`));
pool.on('member', (m) => {
  if (m.what === 'restarted') console.log(`member ${m.member} restarted (${m.cause})`);
});

const digests = await Promise.all(['a', 'b', 'c', 'd'].map((text) => pool.request(text)));
const busy = pool.stats().members.filter((m) => m.completed > 0).length;
console.log(`${digests.length} digests of ${digests[0]!.byteLength} bytes from ${busy} members`);

const restarted = new Promise((resolve) => pool.once('member', resolve));
const controller = new AbortController();
const running = pool.request('cancel me', { signal: controller.signal }); // or { timeout: ms }, { deadlineMs: Date.now() + ms }
setTimeout(() => controller.abort(), 10); // while the plugin is hashing
await running.catch((error: { code: string }) => console.log(`aborted: ${error.code}`));
await restarted;

const s = pool.stats();
console.log(`stats: ${s.completed} completed, ${s.failed} failed, ${s.cancelKills} cancel kill, run time p99 ${s.runTime.p99 > 0 ? '> 0' : '= 0'} ms`);
const exit = await pool.stop(); // drains: queued requests run first; `await using` would also stop it
console.log(`stopped: ${exit.dropped} dropped`);
