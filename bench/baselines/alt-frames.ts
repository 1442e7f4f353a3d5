/**
 * Length-prefixed frames over a byte stream, for the Unix socket alternative (alt-unix-socket.ts and its peer):
 * each frame is a u32 little-endian length followed by that many bytes. `FrameReader` reassembles frames from the
 * chunks a socket delivers, in order; `writeFrame` writes one frame without concatenating (cork + two writes).
 * Single-threaded: one reader per socket, used from that socket's 'data' handler.
 */
import type { Socket } from 'node:net';

/** Largest frame accepted (a peer sending a bigger length is a protocol error, not an allocation). */
export const MAX_FRAME = 64 << 20;

export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = -1;

  /** `onFrame` gets each complete frame's payload (a Buffer the reader no longer uses). */
  constructor(private readonly onFrame: (payload: Buffer) => void) {}

  /** Feeds one chunk; calls onFrame for every frame it completes. Throws on a length above MAX_FRAME. */
  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < 4) return;
        const head = this.#take(4);
        const length = head.readUInt32LE(0);
        if (length > MAX_FRAME) throw new Error(`A frame of ${length} bytes is larger than the ${MAX_FRAME}-byte limit.`);
        this.#need = length;
      }
      if (this.#buffered < this.#need) return;
      const payload = this.#take(this.#need);
      this.#need = -1;
      this.onFrame(payload);
    }
  }

  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0] as Buffer | undefined;
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0] as Buffer;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    return out;
  }
}

/** Writes one frame; returns socket.write's answer for the payload (false: wait for 'drain'). */
export function writeFrame(socket: Socket, payload: Uint8Array): boolean {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(payload.byteLength, 0);
  socket.cork();
  socket.write(head);
  const ok = socket.write(payload);
  socket.uncork();
  return ok;
}
