/**
 * Child process for the deadlock and exit tests: each scenario runs here, so that a hang (a broken deadlock guard)
 * or an abort at exit (a mishandled thread-safe function) shows up as a timeout or a signal in the parent test,
 * instead of freezing or killing the test runner. Prints one JSON line with the outcome.
 *   node showcase-child.js <scenario> <napi|koffi>
 */
import { NativeSidecarError } from '../../src/index.js';
import { openInteropBinding, type BindingName, type ThreadReport } from '../../src/showcase/index.js';

const [scenario, bindingName] = process.argv.slice(2) as [string, BindingName];

function report(outcome: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}

function codeOf(error: unknown): string {
  return error instanceof NativeSidecarError ? error.code : String(error);
}

async function waitFor(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}

async function deadlock(delayMs: number, count: number): Promise<void> {
  const binding = await openInteropBinding(bindingName);
  const callback = binding.registerValueCallback((v) => v + 1);
  const thread = binding.startCallThread(callback, { count, mode: 'blocking', delayMs });
  let joinError: string | null = null;
  let result: ThreadReport;
  try {
    // Blocks the JS thread in the library while the thread needs the JS thread: without the guard, a hang.
    result = thread.joinSync();
  } catch (error) {
    joinError = codeOf(error);
    thread.stop(); // no need to let the race scenario's million calls run out
    result = await thread.join(); // the guard left the thread joinable; join without blocking
  }
  callback.release();
  binding.close();
  report({ joinError, threadError: result.firstError?.code ?? null, callsOk: result.callsOk });
}

async function exitWithLiveThreads(): Promise<void> {
  const binding = await openInteropBinding(bindingName);
  let calls = 0;
  const fire = binding.registerValueCallback(() => ++calls);
  const block = binding.registerValueCallback((v) => v);
  binding.startCallThread(fire, { count: 100_000_000, mode: 'fire-and-forget' });
  binding.startCallThread(block, { count: 100_000_000, mode: 'blocking' });
  await waitFor(() => calls > 1000);
  report({ calls: calls > 1000 });
  process.exit(0); // callbacks registered, threads running, calls queued: exit must still be clean
}

async function exitNaturally(): Promise<void> {
  const binding = await openInteropBinding(bindingName);
  const callback = binding.registerValueCallback((v) => v);
  const result = await binding.startCallThread(callback, { count: 1000, mode: 'fire-and-forget' }).join();
  binding.close(); // releases the callback: nothing keeps the event loop alive any more
  report({ callsOk: result.callsOk });
}

async function uncaughtWithLiveThreads(): Promise<void> {
  const binding = await openInteropBinding(bindingName);
  let calls = 0;
  const callback = binding.registerValueCallback(() => ++calls);
  binding.startCallThread(callback, { count: 100_000_000, mode: 'blocking' });
  await waitFor(() => calls > 100);
  report({ throwing: true });
  setImmediate(() => {
    throw new Error('uncaught on purpose');
  });
}

async function uncaughtDuringJoin(): Promise<void> {
  const binding = await openInteropBinding(bindingName);
  let calls = 0;
  const callback = binding.registerValueCallback(() => ++calls);
  const thread = binding.startCallThread(callback, { count: 100_000_000, mode: 'blocking' });
  void thread.join(); // a join in progress, while the thread keeps calling into JS
  await waitFor(() => calls > 100);
  report({ throwing: true });
  setImmediate(() => {
    throw new Error('uncaught on purpose');
  });
}

const scenarios: Record<string, () => Promise<void>> = {
  'uncaught-during-join': uncaughtDuringJoin,
  'deadlock-delayed': () => deadlock(100, 1),
  'deadlock-race': () => deadlock(0, 1_000_000),
  'exit-live-threads': exitWithLiveThreads,
  'exit-natural': exitNaturally,
  'uncaught-live-threads': uncaughtWithLiveThreads,
};

const run = scenarios[scenario];
if (!run) {
  process.stderr.write(`unknown scenario ${scenario}\n`);
  process.exit(2);
}
await run();
