/**
 * `npm run showcase`: every section of the interop showcase, first through the Node-API binding, then through koffi.
 * Both bindings call the same native library; the output of the two halves is the same, line for line, except
 * where a mechanism differs (noted in the line).
 */
import { KoffiBinding } from './koffi-binding.js';
import { NapiBinding } from './napi-binding.js';
import { runShowcase } from './sections.js';
import type { InteropBinding } from './types.js';

const BINDINGS: ReadonlyArray<{ title: string; open: () => InteropBinding }> = [
  { title: 'Node-API binding (node-addon-api, thread-safe functions)', open: () => new NapiBinding() },
  { title: 'FFI binding (koffi)', open: () => new KoffiBinding() },
];

async function main(): Promise<void> {
  for (const { title, open } of BINDINGS) {
    console.log(`=== ${title} ===`);
    const binding = open();
    try {
      await runShowcase(binding, (line) => console.log(line));
    } finally {
      binding.close();
    }
    console.log('');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
