/* native/test/buffers_dump.c — prints the constants and offsets of native_sidecar/buffers.h as one JSON object
 * {NAME: number}, keyed by the TypeScript names of src/loans/layout.ts (NS_ dropped), for
 * test/buffers-layout.test.ts. Offsets come from offsetof() of the structs, so the test checks the structs; the static
 * assertions of buffers.h tie them to the #defines. Return codes are signed. */
#include <stdio.h>

#include "native_sidecar/buffers.h"

static int g_first = 1;

static void emit(const char *name, long long value) {
  printf("%s\n  \"%s\": %lld", g_first ? "{" : ",", name, value);
  g_first = 0;
}

#define H(member) ((long long)offsetof(ns_buffers_header, member))
#define K(member) ((long long)offsetof(ns_buffers_handle, member))

int main(void) {
  emit("BUFFERS_MAGIC", NS_BUFFERS_MAGIC);
  emit("BUFFERS_VERSION", NS_BUFFERS_VERSION);
  emit("BUFFERS_HEADER_SIZE", (long long)sizeof(ns_buffers_header));
  emit("BUFFERS_MAX_SEGMENTS", NS_BUFFERS_MAX_SEGMENTS);
  emit("BUFFERS_GRAIN", NS_BUFFERS_GRAIN);
  emit("BUFFERS_PAGE", NS_BUFFERS_PAGE);
  emit("BUFFERS_MIN_RESERVE", (long long)NS_BUFFERS_MIN_RESERVE);
  emit("BUFFERS_MAX_RESERVE", (long long)NS_BUFFERS_MAX_RESERVE);
  emit("BUFFERS_MAX_BUFFERS", NS_BUFFERS_MAX_BUFFERS);
  emit("BUFFERS_HANDLE_SIZE", (long long)sizeof(ns_buffers_handle));
  emit("BUFFERS_RECORD_RETURN", NS_BUFFERS_RECORD_RETURN);
  emit("BUFFERS_FROM_OWNER", NS_BUFFERS_FROM_OWNER);
  emit("BUFFERS_FROM_PEER", NS_BUFFERS_FROM_PEER);
  emit("BUFFERS_MAGIC_OFFSET", H(magic));
  emit("BUFFERS_VERSION_OFFSET", H(version));
  emit("BUFFERS_HEADER_SIZE_OFFSET", H(header_size));
  emit("BUFFERS_FLAGS_OFFSET", H(flags));
  emit("BUFFERS_MAX_SEGMENTS_OFFSET", H(max_segments));
  emit("BUFFERS_RESERVE_BYTES_OFFSET", H(reserve_bytes));
  emit("BUFFERS_MAX_BUFFERS_OFFSET", H(max_buffers));
  emit("BUFFERS_CREATOR_PID_OFFSET", H(creator_pid));
  emit("BUFFERS_SEGMENT_COUNT_OFFSET", H(segment_count));
  emit("BUFFERS_ALLOCATIONS_OFFSET", H(allocations));
  emit("BUFFERS_FAILURES_OFFSET", H(failures));
  emit("BUFFERS_LIVE_BUFFERS_OFFSET", H(live_buffers));
  emit("BUFFERS_INVALID_RETURNS_OFFSET", H(invalid_returns));
  emit("BUFFERS_LIVE_BYTES_OFFSET", H(live_bytes));
  emit("BUFFERS_SEGMENT_TABLE_OFFSET", H(segments));
  emit("BUFFERS_SEGMENT_ENTRY_SIZE", (long long)sizeof(ns_buffers_segment_entry));
  emit("HANDLE_SEGMENT_OFFSET", K(segment));
  emit("HANDLE_GENERATION_OFFSET", K(generation));
  emit("HANDLE_OFFSET_OFFSET", K(offset));
  emit("HANDLE_LENGTH_OFFSET", K(length));
  emit("HANDLE_RESERVED_OFFSET", K(reserved));
  emit("BUFFERS_OK", NS_BUFFERS_OK);
  emit("BUFFERS_EMAGIC", NS_BUFFERS_EMAGIC);
  emit("BUFFERS_EVERSION", NS_BUFFERS_EVERSION);
  emit("BUFFERS_EHEADERSIZE", NS_BUFFERS_EHEADERSIZE);
  emit("BUFFERS_EFLAGS", NS_BUFFERS_EFLAGS);
  emit("BUFFERS_ELIMITS", NS_BUFFERS_ELIMITS);
  emit("BUFFERS_ESEGMENT", NS_BUFFERS_ESEGMENT);
  emit("BUFFERS_ECOUNT", NS_BUFFERS_ECOUNT);
  emit("BUFFERS_EHANDLE", NS_BUFFERS_EHANDLE);
  emit("BUFFERS_EBOUNDS", NS_BUFFERS_EBOUNDS);
  emit("BUFFERS_ENOSPACE", NS_BUFFERS_ENOSPACE);
  emit("BUFFERS_ETOOMANY", NS_BUFFERS_ETOOMANY);
  emit("BUFFERS_EINVAL", NS_BUFFERS_EINVAL);
  emit("BUFFERS_ENOTLIVE", NS_BUFFERS_ENOTLIVE);
  emit("BUFFERS_ESYSTEM", NS_BUFFERS_ESYSTEM);
  printf("\n}\n");
  return 0;
}
