/** Buffer pools for zero-copy payloads (docs/wire-format.md §9): the owner's allocator, the receiver's checks. */
export { PoolOwner, initBufferPool, type BufferPoolInit, type PoolOwnerOptions, type PoolOwnerStats } from './owner.js';
export { PoolReader, type PoolReaderOptions, type PoolLimits } from './reader.js';
export { encodeHandle, decodeHandle, type BufferHandle } from './handle.js';
