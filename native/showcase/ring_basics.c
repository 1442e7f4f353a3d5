/* ring_basics.c — one text message through a shared-memory ring, each way, on the calling thread.
 *
 * The ring lives in memory the caller owns (a JS ArrayBuffer); this file only borrows it for the duration of one
 * call. Each call attaches anew: the process-local ns_ring handle (cached positions) is rebuilt from the shared
 * header, which costs one descriptor validation and keeps no state between calls. */
#include <string.h>

#include "native_sidecar/ring.h"
#include "ring_codes.h"

int32_t ns_sc_ring_receive_text(void *segment, uint32_t segment_size, char *out, uint32_t out_capacity) {
  if (segment == NULL || out == NULL || out_capacity == 0) return NS_SC_EINVAL;
  ns_ring ring;
  int rc = ns_ring_attach(&ring, segment, segment_size);
  if (rc != NS_RING_OK) return ns_sc_from_ring(rc);
  uint32_t type = 0, length = 0;
  const uint8_t *payload = NULL;
  rc = ns_ring_peek(&ring, &type, &payload, &length);
  if (rc != NS_RING_OK) return ns_sc_from_ring(rc);
  if (type != NS_SC_RING_TEXT_TYPE) return NS_SC_EINVAL; /* not ours: left in the ring */
  uint32_t copied = length < out_capacity - 1 ? length : out_capacity - 1;
  memcpy(out, payload, copied); /* copy before release: the bytes may be overwritten right after */
  out[copied] = '\0';
  rc = ns_ring_release(&ring);
  if (rc != NS_RING_OK) return ns_sc_from_ring(rc);
  return (int32_t)copied;
}

int ns_sc_ring_send_text(void *segment, uint32_t segment_size, const char *text) {
  if (segment == NULL || text == NULL) return NS_SC_EINVAL;
  ns_ring ring;
  int rc = ns_ring_attach(&ring, segment, segment_size);
  if (rc != NS_RING_OK) return ns_sc_from_ring(rc);
  return ns_sc_from_ring(ns_ring_try_write(&ring, NS_SC_RING_TEXT_TYPE, text, (uint32_t)strlen(text)));
}
