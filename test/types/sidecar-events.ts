/**
 * Type-level test of the Sidecar API (never run): what must compile compiles, and each `@ts-expect-error` line is a
 * mistake the types must catch — if they stop catching one, tsc reports the directive as unused and
 * test/api-types.test.ts fails. Imports the package by its name: this checks the published dist/*.d.ts.
 */
import {
  Sidecar,
  SidecarError,
  type ErrorCode,
  type SidecarExit,
  type SidecarExitReason,
  type SidecarPoison,
  type SidecarRestart,
} from 'native-sidecar';

export async function typeChecks(sidecar: Sidecar, plugin: string): Promise<void> {
  // --- Listeners get the payload types of their event, inferred. ---
  sidecar.on('event', (id, data) => {
    const n: number = id;
    const bytes: Uint8Array = data;
    void n, bytes;
  });
  sidecar.on('log', (level, text) => {
    const l: number = level;
    const t: string = text;
    void l, t;
  });
  sidecar.once('exit', (exit) => {
    const reason: SidecarExitReason = exit.reason;
    const dropped: number = exit.dropped;
    void reason, dropped;
  });
  sidecar.on('error', (error) => {
    const e: SidecarError = error;
    const code: ErrorCode = error.code;
    const errno: number | undefined = error.errno;
    void e, code, errno;
  });
  sidecar.on('restart', (restart) => {
    const r: SidecarRestart = restart;
    const attempt: number = restart.attempt;
    void r, attempt;
  });
  sidecar.on('poison', (poison) => {
    const p: SidecarPoison = poison;
    const exit: SidecarExit = poison.exit;
    void p, exit;
  });
  sidecar.on('ready', () => {});
  const onExit = (exit: SidecarExit): void => void exit;
  sidecar.on('exit', onExit).off('exit', onExit);
  // A listener that takes fewer parameters, or a wider one, is fine.
  sidecar.on('event', (id: number) => void id);
  sidecar.on('error', (error: Error) => void error);

  // --- Misspelt event names do not compile. ---
  // @ts-expect-error 'exti' is not an event of Sidecar
  sidecar.on('exti', () => {});
  // @ts-expect-error 'events' is not an event of Sidecar ('event' is)
  sidecar.once('events', () => {});
  // @ts-expect-error 'lgo' is not an event of Sidecar
  sidecar.off('lgo', () => {});
  // @ts-expect-error 'restarted' is not an event of Sidecar
  sidecar.addListener('restarted', () => {});
  // @ts-expect-error 'exit ' (trailing space) is not an event of Sidecar
  sidecar.prependListener('exit ', () => {});

  // --- Listeners with wrong parameter types do not compile. ---
  // @ts-expect-error a 'log' level is a number, not a string
  sidecar.on('log', (level: string) => void level);
  // @ts-expect-error 'event' data is a Uint8Array, not a string
  sidecar.on('event', (id: number, data: string) => void [id, data]);
  // @ts-expect-error 'exit' gets a SidecarExit, not an exit code
  sidecar.once('exit', (code: number) => void code);
  // @ts-expect-error 'ready' has no payload, so a listener that needs one cannot be called correctly
  sidecar.on('ready', (what: string) => void what);
  // @ts-expect-error a 'poison' listener's argument has no 'reason' (that is on its exit)
  sidecar.on('poison', (poison) => void poison.reason);

  // --- emit() is checked the same way. ---
  // @ts-expect-error 'exit' is emitted with a SidecarExit
  sidecar.emit('exit', 5);
  // @ts-expect-error 'event' needs an id and the data
  sidecar.emit('event', 1);
  // @ts-expect-error 'stopped' is not an event of Sidecar
  sidecar.emit('stopped');

  // --- Options: misspelt or mistyped keys do not compile. ---
  await Sidecar.start({ plugin, mode: 'process', restart: { maxRestarts: 1 }, watchdog: { timeoutMs: 100 } });
  // @ts-expect-error 'modee' is not an option ('mode' is)
  await Sidecar.start({ plugin, modee: 'process' });
  // @ts-expect-error 'fiber' is not a mode
  await Sidecar.start({ plugin, mode: 'fiber' });
  // @ts-expect-error a restart policy has no 'maxRestart' ('maxRestarts')
  await Sidecar.start({ plugin, mode: 'process', restart: { maxRestart: 1 } });
  // @ts-expect-error sandbox.limits has no 'memory' ('memoryBytes')
  await Sidecar.start({ plugin, mode: 'process', sandbox: { limits: { memory: 1 << 30 } } });
  // @ts-expect-error a host callback is a function
  await Sidecar.start({ plugin, host: { event: 1 } });
  // @ts-expect-error a host 'log' callback gets (level: number, message: string)
  await Sidecar.start({ plugin, host: { log: (level: string) => void level } });
  // @ts-expect-error request() has no 'timout' option ('timeout')
  await sidecar.request('x', { timout: 100 });
  // @ts-expect-error send() has no timeout (request() has)
  await sidecar.send('x', { timeout: 100 });
  // @ts-expect-error drain is a boolean
  await sidecar.stop({ drain: 'yes' });
  // @ts-expect-error a command is bytes or a string, not a number
  await sidecar.send(42);
  const reply: Uint8Array = await sidecar.request('x', { type: 1, timeout: 100, signal: AbortSignal.timeout(100) });
  const exit: SidecarExit = await sidecar.stop({ timeout: 100, drain: false });
  void reply, exit;
}
