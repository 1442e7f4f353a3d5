/**
 * The consumer side of examples/shared-region.ts: maps the region it inherited as fd 3 (a sealed memfd; the header
 * is validated), attaches to the ring in segment 0 and prints every record until the producer closes the ring.
 * Waiting parks on a futex that the producer in the other process wakes; the event loop never blocks.
 */
import { SharedRegion } from 'native-sidecar';

using region = SharedRegion.fromFd(3);                    // closed (unmapped) when the module's scope ends
const ring = region.ring(0);
for await (const { type, payload } of ring) {             // copies, in order, until the producer closes
  console.log(`consumer: record ${type}, ${new TextDecoder().decode(payload)}`);
}
