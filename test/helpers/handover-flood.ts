/**
 * Child process for test/region-handover.test.ts: many clients at once. argv[2] = socket path, argv[3] = clients,
 * argv[4] = timeoutMs. Starts every SharedRegion.connect() at the same moment (the parent sets UV_THREADPOOL_SIZE so
 * that each gets its own pool thread and they really are concurrent), waits for all of them, and prints one JSON
 * line: how many were served (and saw the byte 42 the helper server writes at 5000), the codes of the typed errors,
 * anything untyped, the slowest settle time, and the descriptors open at the end that were not open before.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { NativeSidecarError, SharedRegion } from '../../src/index.js';

const [path, clientsArg, timeoutArg] = process.argv.slice(2);
const clients = Number(clientsArg);
const timeoutMs = Number(timeoutArg);
/** The open descriptors as "fd -> target" (the one readdir itself used is gone by the time it is read). */
const openFds = (): string[] =>
  readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [`${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`];
    } catch {
      return [];
    }
  });

// Warm up the pool (its threads, and whatever the first connect() opens once) so that the counts compare like with like.
await SharedRegion.connect(`${path}.nobody-listens`).catch(() => undefined);
const fdsBefore = openFds();
const served: number[] = [];
const errors: Record<string, number> = {};
const untyped: string[] = [];
let slowestMs = 0;
await Promise.all(
  Array.from({ length: clients }, async () => {
    const started = performance.now();
    try {
      const region = await SharedRegion.connect(path!, { timeoutMs });
      served.push(new Uint8Array(region.buffer)[5000]!);
      region.close();
    } catch (error) {
      if (error instanceof NativeSidecarError) errors[error.code] = (errors[error.code] ?? 0) + 1;
      else untyped.push(String(error));
    } finally {
      slowestMs = Math.max(slowestMs, performance.now() - started);
    }
  }),
);
// Counted before process.stdout is first touched: making that stream opens a descriptor of its own (/dev/null, for
// a pipe).
const newFds = openFds().filter((fd) => !fdsBefore.includes(fd));
process.stdout.write(JSON.stringify({ served: served.length, sawMarker: served.every((b) => b === 42), errors, untyped, slowestMs, newFds }) + '\n');
