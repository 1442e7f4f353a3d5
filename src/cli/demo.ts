/**
 * The demo of `npx native-sidecar demo` (and `npm start`): starts a Sidecar with the demo plugin
 * (examples/plugins/demo.c), sends the command "PING" and prints what the host V-table sees, then stops.
 * `--mode process` runs the plugin in its own (sandboxed) process. Written against the public entry only.
 *
 * Prints (both modes):
 *   [Host] Init
 *   [Host] Process: 50-49-4E-47
 *   [Host] Event 1: OK
 *   [Host] Dispose
 */
import { Sidecar, examplePluginPath, type SidecarExit, type SidecarMode } from '../index.js';

function hex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join('-');
}

/** Runs the demo in `mode`, printing each line with `print`. Resolves once the sidecar has stopped. JS thread. */
export async function runDemo(mode: SidecarMode, print: (line: string) => void = console.log): Promise<void> {
  let gotEvent!: () => void;
  let ended!: (error: Error) => void;
  const eventSeen = new Promise<void>((resolve, reject) => ((gotEvent = resolve), (ended = reject)));

  const sidecar = await Sidecar.start({
    plugin: examplePluginPath('demo'),
    mode,
    host: {
      init: () => print('[Host] Init'),
      process: (data) => print(`[Host] Process: ${hex(data)}`), // a zero-copy view of the command, valid during the call
      event: (id, data) => {
        print(`[Host] Event ${id}: ${new TextDecoder().decode(data)}`);
        gotEvent();
      },
      dispose: () => print('[Host] Dispose'),
    },
  });
  sidecar.on('error', (error: Error) => print(`[Host] Error: ${error.message}`));
  sidecar.on('exit', (exit: SidecarExit) => ended(new Error(`The sidecar ended (${exit.reason}) before the demo's event arrived.`))); // no-op after the event
  await sidecar.send('PING');
  await eventSeen;
  await sidecar.stop();
}
