/* native_sidecar/status.h — the return codes of the C ring API (ring.h, futex.h, wait.h).
 *
 * Return codes inside, exceptions at the JavaScript boundary: the addon maps these to the `code`s of src/errors.ts
 * (ECORRUPT → ERR_RING_CORRUPT, ETOOBIG → ERR_RING_TOO_BIG, ECLOSED → ERR_RING_CLOSED, EINVAL → ERR_INVALID_ARG,
 * ETIMEDOUT → ERR_TIMEOUT; EFULL and EEMPTY are not errors: `false` / `null` in TypeScript). */
#ifndef NATIVE_SIDECAR_STATUS_H
#define NATIVE_SIDECAR_STATUS_H

/* Return codes shared by ring.h, futex.h and wait.h: 0 is success, errors are negative. */
enum {
  NS_RING_OK = 0,
  NS_RING_EFULL = -1,     /* not enough free space; nothing was written */
  NS_RING_EEMPTY = -2,    /* nothing to read */
  NS_RING_ETOOBIG = -3,   /* payload longer than the ring's max_payload */
  NS_RING_ECORRUPT = -4,  /* shared memory failed validation; this side of the handle stays broken */
  NS_RING_EINVAL = -5,    /* a bad argument, or a call out of sequence (commit without claim, ...) */
  NS_RING_ECLOSED = -6,   /* this side was closed, or the peer closed and nothing more will come */
  NS_RING_ETIMEDOUT = -7  /* a wait's timeout passed */
};

#endif /* NATIVE_SIDECAR_STATUS_H */
