/**
 * The return codes of the buffer pool (§9) as sentences, and their errors at the JavaScript boundary: a pool or a
 * handle that fails a check is ERR_BUFFER_INVALID, an allocation that does not fit is ERR_POOL_EXHAUSTED, a call
 * with bad arguments ERR_INVALID_ARG — all of class BufferPoolError.
 */
import { BufferPoolError } from '../errors.js';
import * as L from './layout.js';

const SENTENCES: Record<number, string> = {
  [L.BUFFERS_OK]: 'is valid',
  [L.BUFFERS_EMAGIC]: 'does not start with the buffer pool magic number',
  [L.BUFFERS_EVERSION]: 'has an unsupported format version',
  [L.BUFFERS_EHEADERSIZE]: 'has an unexpected header size',
  [L.BUFFERS_EFLAGS]: 'has reserved flags set',
  [L.BUFFERS_ELIMITS]: 'states limits out of range (max_segments, reserve_bytes or max_buffers), or a reserve larger than the mapping',
  [L.BUFFERS_ESEGMENT]: 'has a segment table entry that is misplaced, of a bad size, past the reserve or past the end of the file',
  [L.BUFFERS_ECOUNT]: 'states a segment count that is out of range or smaller than before',
  [L.BUFFERS_EHANDLE]: 'was given a handle with reserved bits set, generation 0 or a segment the pool does not have',
  [L.BUFFERS_EBOUNDS]: 'was given a handle whose offset is misaligned or whose bytes lie outside its segment',
  [L.BUFFERS_ENOSPACE]: 'has no room for the buffer and may not grow enough',
  [L.BUFFERS_ETOOMANY]: 'has max_buffers buffers live already',
  [L.BUFFERS_EINVAL]: 'was given an invalid argument',
  [L.BUFFERS_ENOTLIVE]: 'was given a handle that names no buffer in that state (forged, stale, or returned twice)',
  [L.BUFFERS_ESYSTEM]: 'could not be extended because a system call failed',
};

/** A fragment that completes "The buffer pool …". */
export function bufferPoolSentence(code: number): string {
  return SENTENCES[code] ?? 'has an unknown problem';
}

/** The error for a refused pool or handle (`what` names the argument or the source, e.g. "handle"). */
export function bufferError(code: number, what: string): BufferPoolError {
  if (code === L.BUFFERS_ENOSPACE || code === L.BUFFERS_ETOOMANY) {
    return new BufferPoolError('ERR_POOL_EXHAUSTED', `The buffer pool ${bufferPoolSentence(code)} (${what}).`);
  }
  return new BufferPoolError('ERR_BUFFER_INVALID', `The buffer pool ${bufferPoolSentence(code)} (${what}).`);
}
