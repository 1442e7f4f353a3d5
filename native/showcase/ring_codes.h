/* ring_codes.h — ring return codes (ring.h) as showcase return codes (showcase.h). */
#ifndef NS_SHOWCASE_RING_CODES_H
#define NS_SHOWCASE_RING_CODES_H

#include "native_sidecar/ring.h"
#include "internal.h"

static inline int ns_sc_from_ring(int rc) {
  switch (rc) {
    case NS_RING_OK: return NS_SC_OK;
    case NS_RING_EEMPTY: return NS_SC_EEMPTY;
    case NS_RING_EFULL: return NS_SC_EFULL;
    default: return NS_SC_ERING + rc;
  }
}

#endif /* NS_SHOWCASE_RING_CODES_H */
