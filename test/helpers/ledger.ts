/**
 * The reading side of the ledger test plugin (native/test/plugins/ledger.c): a file of 16-byte records
 * { u64 seq, u32 flags, u32 type }, one per command whose process() ran to its end, appended with one write() each.
 * It survives kill -9 of the sidecar, so it is the ground truth of what the plugin completed.
 *
 * A Ledger reads the file incrementally (poll() reads what was appended since the last call, whole records only) and
 * keeps, per sequence number, the entries in file order with the index of each (its place in the file).
 */
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const LEDGER_RECORD_BYTES = 16;
/** The flag the ledger records for a redelivered command (NS_COMMAND_REDELIVERED). */
export const LEDGER_REDELIVERED = 1;
/** The sequence number the plugin records for a payload shorter than 8 bytes. */
export const LEDGER_NO_SEQ = 0xffffffffffffffffn;

export interface LedgerEntry {
  /** Index of the record in the file (0 = first). */
  index: number;
  seq: bigint;
  flags: number;
  type: number;
}

export class Ledger {
  readonly path: string;
  readonly entries: LedgerEntry[] = [];
  readonly bySeq = new Map<bigint, LedgerEntry[]>();
  readonly #dir: string;
  #fd: number;
  #offset = 0;
  #buffer = Buffer.alloc(64 * 1024);

  /** Creates an empty ledger file in a fresh temporary directory. */
  constructor(prefix = 'ns-ledger-') {
    this.#dir = mkdtempSync(join(tmpdir(), prefix));
    this.path = join(this.#dir, 'ledger.bin');
    writeFileSync(this.path, new Uint8Array(0));
    this.#fd = openSync(this.path, 'r');
  }

  /**
   * The Sidecar options a ledger plugin needs: in process mode its sandbox must let it write the ledger's directory
   * (the default profile allows no write anywhere); a thread is not confined.
   */
  sidecarOptions(mode: 'thread' | 'process'): { config: string; sandbox?: { writePaths: string[] } } {
    return mode === 'process' ? { config: this.path, sandbox: { writePaths: [this.#dir] } } : { config: this.path };
  }

  /** Reads the records appended since the last poll; returns the number of entries now known. */
  poll(): number {
    const size = fstatSync(this.#fd).size;
    let end = size - (size % LEDGER_RECORD_BYTES);
    while (this.#offset < end) {
      const want = Math.min(this.#buffer.length, end - this.#offset);
      const got = readSync(this.#fd, this.#buffer, 0, want, this.#offset);
      if (got <= 0) break;
      const whole = got - (got % LEDGER_RECORD_BYTES);
      for (let at = 0; at < whole; at += LEDGER_RECORD_BYTES) {
        const entry: LedgerEntry = {
          index: this.entries.length,
          seq: this.#buffer.readBigUInt64LE(at),
          flags: this.#buffer.readUInt32LE(at + 8),
          type: this.#buffer.readUInt32LE(at + 12),
        };
        this.entries.push(entry);
        let list = this.bySeq.get(entry.seq);
        if (list === undefined) this.bySeq.set(entry.seq, (list = []));
        list.push(entry);
      }
      this.#offset += whole;
      if (whole === 0) break;
      end = Math.max(end, this.#offset);
    }
    return this.entries.length;
  }

  /** Entries recorded so far for `seq` (after the last poll). */
  count(seq: bigint): number {
    return this.bySeq.get(seq)?.length ?? 0;
  }

  /** Closes the reader and removes the file and its directory. */
  dispose(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
