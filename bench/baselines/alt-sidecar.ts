/**
 * Our Sidecar as the `alternatives` and `paced` suites run it: the echo example plugin, default options (wait policy,
 * restart, sandbox…) except, for messages larger than the default rings carry, rings big enough for one message of
 * that size (the only option set, and only then; the result's note says so). Main JavaScript thread only.
 */
import { DEFAULT_RING_BYTES } from '../../src/sidecar/options.js';
import { Sidecar, examplePluginPath, type SidecarMode, type SidecarOptions } from '../../src/index.js';
import type { CpuSides } from '../lib/cpu.js';
import { childSides, inProcSides } from './alt-measure.js';

/** The ring size (a power of two) whose max payload holds a `bytes`-byte command plus headers: maxPayload = cap/2 − 8. */
export function ringBytesFor(bytes: number): number {
  let cap = DEFAULT_RING_BYTES;
  while (cap / 2 - 8 - 8 < bytes) cap *= 2;
  return cap;
}

export interface StartedSidecar {
  sidecar: Sidecar;
  sides: CpuSides;
  /** What differs from the defaults, as a sentence (empty when nothing does). */
  note: string;
}

export async function startSidecar(mode: SidecarMode, messageBytes: number): Promise<StartedSidecar> {
  const options: SidecarOptions = { plugin: examplePluginPath('echo'), mode };
  const ring = ringBytesFor(messageBytes);
  let note = '';
  if (ring !== DEFAULT_RING_BYTES) {
    options.commandRingBytes = ring;
    options.eventRingBytes = ring;
    note = `Default options except commandRingBytes = eventRingBytes = ${ring / (1 << 20)} MiB (the default ${DEFAULT_RING_BYTES / (1 << 20)} MiB rings carry at most ${DEFAULT_RING_BYTES / 2 - 16} B).`;
  }
  const sidecar = await Sidecar.start(options);
  const sides = mode === 'process' ? childSides(sidecar.pid) : inProcSides();
  return { sidecar, sides, note };
}
