/**
 * The demo of `npm start`: starts a Sidecar with the demo plugin (examples/plugins/demo.c), sends the command
 * "PING" and prints what the host V-table sees. `npm start -- --mode process` runs the plugin in its own process.
 *
 * Expected output (both modes):
 *   [Host] Init
 *   [Host] Process: 50-49-4E-47
 *   [Host] Event 1: OK
 *   [Host] Dispose
 */
import { parseArgs } from 'node:util';
import { Sidecar, examplePluginPath, type SidecarMode } from 'native-sidecar';

function hex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join('-');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { mode: { type: 'string', default: 'thread' } } });
  if (values.mode !== 'thread' && values.mode !== 'process') {
    throw new Error(`--mode must be 'thread' or 'process', not '${values.mode}'.`);
  }
  const mode: SidecarMode = values.mode;
  let gotEvent!: () => void;
  const eventSeen = new Promise<void>((resolve) => (gotEvent = resolve));

  const sidecar = await Sidecar.start({
    plugin: examplePluginPath('demo'),
    mode,
    host: {
      init: () => console.log('[Host] Init'),
      process: (data) => console.log(`[Host] Process: ${hex(data)}`),
      event: (id, data) => {
        console.log(`[Host] Event ${id}: ${new TextDecoder().decode(data)}`);
        gotEvent();
      },
      dispose: () => console.log('[Host] Dispose'),
    },
  });
  await sidecar.send('PING');
  await eventSeen;
  await sidecar.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
