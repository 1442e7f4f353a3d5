/**
 * Child process for test/region-handover.test.ts: a client in another process.
 * argv[2] = socket path, argv[3] = 'hold' (stay alive after mapping, until killed) or 'once'.
 * Connects, reads the byte at 5000, writes (byte + 1) at 5001 and prints {"seen": byte}; on a refusal prints
 * {"refused": code}.
 */
import { SharedRegion } from '../../src/index.js';

const [path, mode] = process.argv.slice(2);
try {
  const region = await SharedRegion.connect(path!);
  const bytes = new Uint8Array(region.buffer);
  const seen = bytes[5000]!;
  bytes[5001] = (seen + 1) & 0xff;
  process.stdout.write(JSON.stringify({ seen }) + '\n');
  if (mode === 'hold') setInterval(() => {}, 1000);
  else region.close();
} catch (error) {
  process.stdout.write(JSON.stringify({ refused: (error as { code?: string }).code, message: (error as Error).message }) + "\n");
}
