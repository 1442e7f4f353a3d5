/**
 * The quick start of README.md ("Sidecar: native code on its own thread or in its own process"), quoted there from
 * the import to the end. Run: `node .out/examples/quick-start.js` (after `npm test` or `npx tsc -p tsconfig.test.json`).
 *
 * Expected output:
 *   event 7: 9 bytes
 *   reply: hello
 *   iterated event 7: a command
 *   exit: stopped
 */
import { Sidecar, examplePluginPath } from 'native-sidecar';

const sidecar = await Sidecar.start({
  plugin: examplePluginPath('echo'), // or the path of your own plugin .so
  mode: 'process',                   // 'thread' (default) or 'process'
  config: 'bytes for init',
  host: { event: (id, data) => console.log(`event ${id}: ${data.byteLength} bytes`) }, // runs on this thread
  restart: { maxRestarts: 3 },       // process mode: restart after a crash, resuming after the last finished command
  watchdog: { timeoutMs: 5000 },     // kill a plugin call that hangs
});
sidecar.on('error', (error) => console.error(`sidecar error: ${error.message}`)); // corrupt rings, a hung plugin …
sidecar.on('exit', (exit) => console.log(`exit: ${exit.reason}`));
const events = sidecar.events();                         // every event from now on, as copies, until the sidecar stops
await sidecar.send('a command', { type: 7 });            // resolves once it is in the ring; echo turns it into event 7
const reply = await sidecar.request('hello', { timeout: 1000 }); // echo replies with the request's bytes
console.log(`reply: ${new TextDecoder().decode(reply)}`);
for await (const { id, data } of events) {               // event 7 is already waiting in the iterator
  console.log(`iterated event ${id}: ${new TextDecoder().decode(data)}`);
  break;                                                 // ends this iterator; the sidecar keeps running
}
await sidecar.stop();                                    // drains, runs dispose, joins / reaps, unmaps
