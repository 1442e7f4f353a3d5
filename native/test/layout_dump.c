/* native/test/layout_dump.c — prints the byte layout of native_sidecar/layout.h as one JSON object, for
 * test/layout.test.ts to compare with src/ring/layout.ts and src/region/layout.ts.
 *
 * Output: {"constants": {NAME: number, ...}, "functions": {NAME: [[argument, result], ...], ...},
 *          "status": {NS_RING_*: value, ...}} (the return codes of status.h, signed)
 * Constant names are those of the TypeScript modules. Offsets and sizes come from offsetof()/sizeof() of the C
 * structs wherever a struct describes them (so the test checks the structs, not only the #defines); the static
 * assertions of layout.h tie those to the NS_* #defines. Functions are the TypeScript helpers of
 * src/ring/layout.ts, evaluated by their C counterparts in ring.h at sample arguments. */
#include <stdio.h>

#include "native_sidecar/layout.h"
#include "native_sidecar/ring.h"

static int g_first;

static void begin_object(const char *key) {
  printf("%s\"%s\": {", g_first ? "" : ", ", key);
  g_first = 1;
}

static void end_object(void) {
  printf("\n  }");
  g_first = 0;
}

static void emit(const char *name, unsigned long long value) {
  printf("%s\n    \"%s\": %llu", g_first ? "" : ",", name, value);
  g_first = 0;
}

#define RING_FIELD(member) offsetof(ns_ring_shared, member)
#define DESCRIPTOR_FIELD(member) (offsetof(ns_ring_shared, descriptor) + offsetof(ns_ring_descriptor, member))

static void emit_ring_constants(void) {
  emit("BLOCK_SIZE", NS_BLOCK_SIZE);
  emit("RING_MAGIC", NS_RING_MAGIC);
  emit("RING_VERSION", NS_RING_VERSION);
  emit("RING_HEADER_SIZE", sizeof(ns_ring_shared));
  emit("RING_MIN_CAPACITY", NS_RING_MIN_CAPACITY);
  emit("RING_MAX_CAPACITY", NS_RING_MAX_CAPACITY);
  emit("RING_MAGIC_OFFSET", DESCRIPTOR_FIELD(magic));
  emit("RING_VERSION_OFFSET", DESCRIPTOR_FIELD(version));
  emit("RING_HEADER_SIZE_OFFSET", DESCRIPTOR_FIELD(header_size));
  emit("RING_CAPACITY_OFFSET", DESCRIPTOR_FIELD(capacity));
  emit("RING_MAX_PAYLOAD_OFFSET", DESCRIPTOR_FIELD(max_payload));
  emit("RING_FLAGS_OFFSET", DESCRIPTOR_FIELD(flags));
  emit("RING_TAIL_OFFSET", RING_FIELD(tail));
  emit("RING_HEAD_OFFSET", RING_FIELD(head));
  emit("RING_DATA_SEQ_OFFSET", RING_FIELD(data_seq));
  emit("RING_CONSUMER_PARKED_OFFSET", RING_FIELD(consumer_parked));
  emit("RING_SPACE_SEQ_OFFSET", RING_FIELD(space_seq));
  emit("RING_PRODUCER_PARKED_OFFSET", RING_FIELD(producer_parked));
  emit("RING_CLOSED_OFFSET", RING_FIELD(closed));
  emit("RING_DATA_OFFSET", sizeof(ns_ring_shared)); /* the data area follows the header blocks */
  emit("RING_CLOSED_PRODUCER", NS_RING_CLOSED_PRODUCER);
  emit("RING_CLOSED_CONSUMER", NS_RING_CLOSED_CONSUMER);
  emit("RING_CLOSED_MASK", NS_RING_CLOSED_MASK);
  emit("RING_ATTACH_TRIES", NS_RING_ATTACH_TRIES);
  emit("RECORD_HEADER_SIZE", sizeof(ns_record_header));
  emit("RECORD_ALIGN", NS_RECORD_ALIGN);
  emit("RECORD_LENGTH_OFFSET", offsetof(ns_record_header, length));
  emit("RECORD_TYPE_OFFSET", offsetof(ns_record_header, type));
  emit("RECORD_TYPE_MAX_USER", NS_RECORD_TYPE_MAX_USER);
  emit("RECORD_TYPE_PADDING", NS_RECORD_TYPE_PADDING);
}

static void emit_region_constants(void) {
  emit("REGION_MAGIC", NS_REGION_MAGIC);
  emit("REGION_VERSION", NS_REGION_VERSION);
  emit("REGION_HEADER_SIZE", sizeof(ns_region_header));
  emit("REGION_MAX_SEGMENTS", sizeof(((ns_region_header *)0)->segments) / sizeof(ns_segment_entry));
  emit("REGION_MIN_SIZE", NS_REGION_MIN_SIZE);
  emit("REGION_MAX_SIZE", NS_REGION_MAX_SIZE);
  emit("SEGMENT_ALIGN", NS_SEGMENT_ALIGN);
  emit("REGION_MAGIC_OFFSET", offsetof(ns_region_header, magic));
  emit("REGION_VERSION_OFFSET", offsetof(ns_region_header, version));
  emit("REGION_HEADER_SIZE_OFFSET", offsetof(ns_region_header, header_size));
  emit("REGION_SIZE_OFFSET", offsetof(ns_region_header, region_size));
  emit("REGION_SEGMENT_COUNT_OFFSET", offsetof(ns_region_header, segment_count));
  emit("REGION_FLAGS_OFFSET", offsetof(ns_region_header, flags));
  emit("REGION_CREATOR_PID_OFFSET", offsetof(ns_region_header, creator_pid));
  emit("REGION_SEGMENTS_OFFSET", offsetof(ns_region_header, segments));
  emit("SEGMENT_ENTRY_SIZE", sizeof(ns_segment_entry));
  emit("SEGMENT_KIND_OFFSET", offsetof(ns_segment_entry, kind));
  emit("SEGMENT_OFFSET_OFFSET", offsetof(ns_segment_entry, offset));
  emit("SEGMENT_SIZE_OFFSET", offsetof(ns_segment_entry, size));
  emit("SEGMENT_KIND_RING", NS_SEGMENT_KIND_RING);
  emit("SEGMENT_KIND_SIDECAR_CONTROL", NS_SEGMENT_KIND_SIDECAR_CONTROL);
  emit("SEGMENT_KIND_USER_MIN", NS_SEGMENT_KIND_USER_MIN);
}

static void emit_signed(const char *name, int value) {
  printf("%s\n    \"%s\": %d", g_first ? "" : ",", name, value);
  g_first = 0;
}

/* status.h, for the table of docs/wire-format.md §6 (test/layout.test.ts compares them). */
static void emit_status_codes(void) {
  emit_signed("NS_RING_OK", NS_RING_OK);
  emit_signed("NS_RING_EFULL", NS_RING_EFULL);
  emit_signed("NS_RING_EEMPTY", NS_RING_EEMPTY);
  emit_signed("NS_RING_ETOOBIG", NS_RING_ETOOBIG);
  emit_signed("NS_RING_ECORRUPT", NS_RING_ECORRUPT);
  emit_signed("NS_RING_EINVAL", NS_RING_EINVAL);
  emit_signed("NS_RING_ECLOSED", NS_RING_ECLOSED);
  emit_signed("NS_RING_ETIMEDOUT", NS_RING_ETIMEDOUT);
}

static void emit_samples(const char *name, const uint32_t *args, size_t n, unsigned long long (*fn)(uint32_t)) {
  printf("%s\n    \"%s\": [", g_first ? "" : ",", name);
  for (size_t i = 0; i < n; ++i) printf("%s[%u, %llu]", i ? ", " : "", args[i], fn(args[i]));
  printf("]");
  g_first = 0;
}

static unsigned long long segment_size(uint32_t capacity) { return ns_ring_segment_size(capacity); }
static unsigned long long max_payload_for(uint32_t capacity) { return ns_ring_max_payload_for(capacity); }
static unsigned long long record_size(uint32_t length) { return ns_record_size(length); }

int main(void) {
  static const uint32_t capacities[] = {NS_RING_MIN_CAPACITY, 4096u, 65536u, 1u << 20, NS_RING_MAX_CAPACITY};
  static const uint32_t lengths[] = {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 100u, 504u, 65535u, 1u << 29};
  printf("{\n  ");
  g_first = 1;
  begin_object("constants");
  emit_ring_constants();
  emit_region_constants();
  end_object();
  begin_object("functions");
  emit_samples("ringSegmentSize", capacities, sizeof capacities / sizeof capacities[0], segment_size);
  emit_samples("maxPayloadFor", capacities, sizeof capacities / sizeof capacities[0], max_payload_for);
  emit_samples("recordSize", lengths, sizeof lengths / sizeof lengths[0], record_size);
  end_object();
  begin_object("status");
  emit_status_codes();
  end_object();
  printf("\n}\n");
  return 0;
}
