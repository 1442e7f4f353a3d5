/* native/test/ring_vectors.c — cross-language conformance vectors for the ring of docs/wire-format.md.
 *
 * ring_vectors write <dir>
 *   For each vector NAME writes two files (the directory must exist):
 *   <dir>/NAME.bin   the ring segment image: the 512-byte header blocks followed by the data area, exactly
 *                    512 + capacity bytes, as left by a known sequence of operations of this implementation (or,
 *                    for names starting with "corrupt-", with bytes a hostile peer could have written);
 *   <dir>/NAME.json  {"name": "NAME", "description": "...", "capacity": 1024, "max_payload": 504,
 *                     "head": <u32>, "tail": <u32>,
 *                     "records": [{"type": <u32>, "payload": "<lowercase hex>"}, ...],
 *                     "end": "empty" | "closed" | null, "error": null | "ERR_RING_CORRUPT"}
 *   "capacity" and "max_payload" are what the ring was initialised with (the image is 512 + capacity bytes; a
 *   corrupt vector may have changed its descriptor afterwards); "head" and "tail" are the positions in the image.
 *   "records" are what a conforming consumer attaching to the image delivers, in order, reading until it stops;
 *   then it finds the ring empty ("end": "empty"), empty with the producer closed ("end": "closed"), or reports
 *   the error code of src/errors.ts ("error"; exactly one of "end" and "error" is non-null). Corrupt vectors have
 *   no records before the fault, so that "attach fails" and "the first read fails" are both conformant.
 *   Output is deterministic: running it again gives byte-identical files (test/vectors/c/ holds the committed ones).
 *
 * ring_vectors read <file.bin>
 *   Attaches to a ring image written by any implementation, reads every record, and prints one JSON object per
 *   line: {"type": <u32>, "payload": "<lowercase hex>"} for each record in order, then exactly one final line:
 *   {"end": "empty"}, {"end": "closed"}, or {"error": "<code>"} (ERR_RING_CORRUPT for a corrupt image,
 *   ERR_INVALID_ARG for a file too small to be a ring header). Exit status: 0 after "end", 1 after "error",
 *   2 for a usage or I/O problem (message on stderr, nothing on stdout).
 *
 * Both sides of the conformance check use these shapes: test/c-ring.test.ts (C writes and reads its own vectors)
 * and test/vectors.test.ts (TypeScript reads the .bin files of test/vectors/c, this tool reads those of test/vectors/ts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native_sidecar/ring.h"

#define MAX_RECORDS 32
#define MAX_PAYLOAD_BYTES 2048

/* ------------------------------------------------------------------------------------------- JSON output */

static void print_hex(FILE *out, const uint8_t *bytes, uint32_t length) {
  for (uint32_t i = 0; i < length; ++i) fprintf(out, "%02x", bytes[i]);
}

static void print_record(FILE *out, uint32_t type, const uint8_t *payload, uint32_t length) {
  fprintf(out, "{\"type\": %u, \"payload\": \"", type);
  print_hex(out, payload, length);
  fprintf(out, "\"}");
}

static const char *error_code(int rc) {
  switch (rc) {
    case NS_RING_ECORRUPT: return "ERR_RING_CORRUPT";
    case NS_RING_ETOOBIG: return "ERR_RING_TOO_BIG";
    case NS_RING_ECLOSED: return "ERR_RING_CLOSED";
    case NS_RING_ETIMEDOUT: return "ERR_TIMEOUT";
    default: return "ERR_INVALID_ARG";
  }
}

/* ------------------------------------------------------------------------------------------------ read */

static int print_line(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  (void)ctx;
  print_record(stdout, type, payload, length);
  fputc('\n', stdout);
  return 0;
}

static int read_file(const char *path, uint8_t **out, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return -1;
  if (fseek(f, 0, SEEK_END) != 0) goto fail;
  const long n = ftell(f);
  if (n < 0 || fseek(f, 0, SEEK_SET) != 0) goto fail;
  void *mem = NULL;
  /* A ring segment starts at a multiple of a block in its region (§2): give the image the same alignment. */
  if (posix_memalign(&mem, NS_BLOCK_SIZE, n > 0 ? (size_t)n : 1) != 0) goto fail;
  if (fread(mem, 1, (size_t)n, f) != (size_t)n) {
    free(mem);
    goto fail;
  }
  fclose(f);
  *out = (uint8_t *)mem;
  *size = (size_t)n;
  return 0;
fail:
  fclose(f);
  return -1;
}

static int command_read(const char *path) {
  uint8_t *mem;
  size_t size;
  if (read_file(path, &mem, &size) != 0) {
    fprintf(stderr, "ring_vectors: cannot read %s\n", path);
    return 2;
  }
  ns_ring r;
  int rc = ns_ring_attach(&r, mem, size);
  while (rc == NS_RING_OK) {
    rc = ns_ring_read(&r, print_line, NULL, 1);
    if (rc == 0) break;     /* empty */
    if (rc > 0) rc = NS_RING_OK;
  }
  if (rc == 0) printf("{\"end\": \"empty\"}\n");
  else if (rc == NS_RING_ECLOSED) printf("{\"end\": \"closed\"}\n");
  else printf("{\"error\": \"%s\"}\n", error_code(rc));
  free(mem);
  return rc == 0 || rc == NS_RING_ECLOSED ? 0 : 1;
}

/* ----------------------------------------------------------------------------------------------- write */

typedef struct written_record {
  uint32_t type;
  uint32_t length;
  uint8_t payload[MAX_PAYLOAD_BYTES];
} written_record;

typedef struct vector {
  const char *name;
  const char *description;
  uint8_t *mem;
  size_t size;
  ns_ring r;
  written_record records[MAX_RECORDS];
  int written;  /* records written through the API */
  int consumed; /* of which the consumer has read the first `consumed` */
  const char *end;
  const char *error;
} vector;

static void die(const char *what, const char *name, int rc) {
  fprintf(stderr, "ring_vectors: %s failed for vector %s (%d)\n", what, name, rc);
  exit(2);
}

static void vec_begin(vector *v, const char *name, const char *description, uint32_t capacity, uint32_t max_payload,
                      uint32_t initial_position) {
  memset(v, 0, sizeof *v);
  v->name = name;
  v->description = description;
  v->size = ns_ring_segment_size(capacity);
  void *mem = NULL;
  if (posix_memalign(&mem, NS_BLOCK_SIZE, v->size) != 0) die("allocation", name, 0);
  v->mem = (uint8_t *)mem;
  memset(v->mem, 0, v->size); /* deterministic images */
  int rc = ns_ring_init(v->mem, v->size, capacity, max_payload, initial_position);
  if (rc == NS_RING_OK) rc = ns_ring_attach(&v->r, v->mem, v->size);
  if (rc != NS_RING_OK) die("init", name, rc);
  v->end = "empty";
  v->error = NULL;
}

/* Payload bytes of record `seed`: a pattern that makes every record's bytes distinct. */
static void pattern(uint8_t *out, uint32_t length, uint32_t seed) {
  for (uint32_t i = 0; i < length; ++i) out[i] = (uint8_t)(seed * 29u + i * 13u + 1u);
}

static void vec_write_bytes(vector *v, uint32_t type, const void *payload, uint32_t length) {
  if (v->written == MAX_RECORDS || length > MAX_PAYLOAD_BYTES) die("record bookkeeping", v->name, 0);
  const int rc = ns_ring_try_write(&v->r, type, payload, length);
  if (rc != NS_RING_OK) die("try_write", v->name, rc);
  written_record *w = &v->records[v->written++];
  w->type = type;
  w->length = length;
  if (length != 0) memcpy(w->payload, payload, length);
}

static void vec_write(vector *v, uint32_t type, uint32_t length) {
  uint8_t buf[MAX_PAYLOAD_BYTES];
  pattern(buf, length, (uint32_t)v->written + type);
  vec_write_bytes(v, type, buf, length);
}

static int count_only(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  (void)ctx, (void)type, (void)payload, (void)length;
  return 0;
}

static void vec_consume(vector *v, int n) {
  const int rc = ns_ring_read(&v->r, count_only, NULL, (uint32_t)n);
  if (rc != n) die("read", v->name, rc);
  v->consumed += n;
}

/* A corrupt vector: its expected outcome is the error, with no records before it. */
static void vec_corrupt(vector *v) {
  v->consumed = v->written;
  v->end = NULL;
  v->error = "ERR_RING_CORRUPT";
}

static ns_ring_shared *vec_shared(vector *v) {
  return (ns_ring_shared *)(void *)v->mem;
}

static void vec_put_header(vector *v, uint32_t pos, uint32_t length, uint32_t type) {
  ns_record_header h;
  h.length = length;
  h.type = type;
  memcpy(v->mem + NS_RING_HEADER_SIZE + (pos & v->r.mask), &h, sizeof h);
}

static void vec_set_tail(vector *v, uint32_t tail) {
  NS_ATOMIC_STORE(&vec_shared(v)->tail, tail, NS_MO_RELAXED);
}

static FILE *open_output(const char *dir, const char *name, const char *ext) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    fprintf(stderr, "ring_vectors: cannot write %s\n", path);
    exit(2);
  }
  return f;
}

static void vec_finish(vector *v, const char *dir) {
  FILE *bin = open_output(dir, v->name, "bin");
  if (fwrite(v->mem, 1, v->size, bin) != v->size || fclose(bin) != 0) die("writing .bin", v->name, 0);

  FILE *json = open_output(dir, v->name, "json");
  fprintf(json, "{\n  \"name\": \"%s\",\n  \"description\": \"%s\",\n", v->name, v->description);
  fprintf(json, "  \"capacity\": %u,\n  \"max_payload\": %u,\n", v->r.capacity, v->r.max_payload);
  fprintf(json, "  \"head\": %u,\n  \"tail\": %u,\n", NS_ATOMIC_LOAD(&vec_shared(v)->head, NS_MO_RELAXED),
          NS_ATOMIC_LOAD(&vec_shared(v)->tail, NS_MO_RELAXED));
  fprintf(json, "  \"records\": [");
  for (int i = v->consumed; i < v->written; ++i) {
    fprintf(json, "%s\n    ", i == v->consumed ? "" : ",");
    print_record(json, v->records[i].type, v->records[i].payload, v->records[i].length);
  }
  fprintf(json, "%s],\n", v->consumed < v->written ? "\n  " : "");
  if (v->end != NULL) fprintf(json, "  \"end\": \"%s\",\n  \"error\": null\n}\n", v->end);
  else fprintf(json, "  \"end\": null,\n  \"error\": \"%s\"\n}\n", v->error);
  if (fclose(json) != 0) die("writing .json", v->name, 0);
  free(v->mem);
}

/* ------------------------------------------------------------------------------------------- the vectors */

static void write_valid_vectors(const char *dir, vector *v) {
  vec_begin(v, "basic", "four records of assorted types and lengths from position 0", 1024, 0, 0);
  vec_write_bytes(v, 1, "hello", 5);
  vec_write(v, 2, 0);
  vec_write(v, NS_RECORD_TYPE_MAX_USER, 13);
  vec_write(v, 0, 8);
  vec_finish(v, dir);

  vec_begin(v, "zero-length", "five zero-length payloads", 1024, 0, 64);
  for (uint32_t t = 0; t < 5; ++t) vec_write(v, t + 10, 0);
  vec_finish(v, dir);

  vec_begin(v, "wrap-padding",
            "five of six 150-byte records consumed, then a 200-byte record behind a 64-byte padding record at the "
            "end and a 30-byte record at the start", 1024, 0, 0);
  for (int i = 0; i < 6; ++i) vec_write(v, 3, 150);
  vec_consume(v, 5);
  vec_write(v, 4, 200);
  vec_write(v, 5, 30);
  vec_finish(v, dir);

  vec_begin(v, "u32-wrap",
            "positions start at 2^32-256 and the tail wraps past 2^32 (tail < head as numbers), with padding",
            1024, 0, 0u - 256u);
  for (int i = 0; i < 4; ++i) vec_write(v, 6, 100);
  vec_finish(v, dir);

  vec_begin(v, "max-payload", "two records of max_payload (504) bytes filling the ring completely", 1024, 0, 0);
  vec_write(v, 7, 504);
  vec_write(v, 8, 504);
  vec_finish(v, dir);

  vec_begin(v, "max-payload-after-padding",
            "a record of max_payload bytes that only fits after a padding record of 504 bytes", 1024, 0, 520);
  vec_write(v, 9, 504);
  vec_finish(v, dir);

  vec_begin(v, "custom-max-payload", "capacity 2048 with max_payload 64, records of 64, 0 and 33 bytes", 2048, 64,
            0);
  vec_write(v, 11, 64);
  vec_write(v, 12, 0);
  vec_write(v, 13, 33);
  vec_finish(v, dir);

  vec_begin(v, "closed", "two records, then the producer closed the ring", 1024, 0, 0);
  vec_write(v, 14, 3);
  vec_write(v, 15, 20);
  ns_ring_close_producer(&v->r);
  v->end = "closed";
  vec_finish(v, dir);

  vec_begin(v, "empty", "no records, positions at 0x12345678", 1024, 0, 0x12345678u);
  vec_finish(v, dir);
}

static void write_corrupt_vectors(const char *dir, vector *v) {
  vec_begin(v, "corrupt-bad-magic", "a valid ring whose descriptor magic is wrong", 1024, 0, 0);
  vec_write(v, 1, 8);
  vec_shared(v)->descriptor.magic = 0x4252534Fu;
  vec_corrupt(v);
  vec_finish(v, dir);

  vec_begin(v, "corrupt-capacity-not-power-of-two", "the descriptor says capacity 1000", 1024, 0, 0);
  vec_shared(v)->descriptor.capacity = 1000;
  vec_corrupt(v);
  vec_finish(v, dir);

  vec_begin(v, "corrupt-max-payload-too-big", "the descriptor says max_payload 505 in a 1024-byte ring", 1024, 0, 0);
  vec_shared(v)->descriptor.max_payload = 505;
  vec_corrupt(v);
  vec_finish(v, dir);

  vec_begin(v, "corrupt-tail-unaligned", "tail is head + 4", 1024, 0, 0);
  vec_set_tail(v, 4);
  vec_corrupt(v);
  vec_finish(v, dir);

  vec_begin(v, "corrupt-tail-past-capacity", "tail is head + capacity + 8", 1024, 0, 0);
  vec_set_tail(v, 1024 + 8);
  vec_corrupt(v);
  vec_finish(v, dir);

  vec_begin(v, "corrupt-reserved-type", "the first record has type 0x80000000", 1024, 0, 0);
  vec_put_header(v, 0, 8, 0x80000000u);
  vec_set_tail(v, 16);
  vec_corrupt(v);
  vec_finish(v, dir);

  vec_begin(v, "corrupt-length-over-max-payload", "the first record is 505 bytes long, max_payload is 504", 1024, 0,
            0);
  vec_put_header(v, 0, 505, 1);
  vec_set_tail(v, ns_record_size(505));
  vec_corrupt(v);
  vec_finish(v, dir);

  vec_begin(v, "corrupt-record-past-tail", "the first record is 100 bytes long but only 16 bytes are published",
            1024, 0, 0);
  vec_put_header(v, 0, 100, 1);
  vec_set_tail(v, 16);
  vec_corrupt(v);
  vec_finish(v, dir);

  vec_begin(v, "corrupt-padding-not-at-end", "a padding record at index 0 that ends at 16, followed by a record",
            1024, 0, 0);
  vec_put_header(v, 0, 8, NS_RECORD_TYPE_PADDING);
  vec_put_header(v, 16, 0, 1);
  vec_set_tail(v, 24);
  vec_corrupt(v);
  vec_finish(v, dir);

  /* wire-format §4 check 3: no producer writes padding at index 0; skipping it would consume the whole data area and
   * deliver nothing, so both readers must refuse it instead. */
  vec_begin(v, "corrupt-padding-at-index-0",
            "a padding record at data index 0 covering the whole data area, tail = head + capacity", 1024, 0, 0);
  vec_put_header(v, 0, 1024 - NS_RECORD_HEADER_SIZE, NS_RECORD_TYPE_PADDING);
  vec_set_tail(v, 1024);
  vec_corrupt(v);
  vec_finish(v, dir);

  vec_begin(v, "corrupt-record-crosses-end", "a 32-byte record at index 1008 of a 1024-byte ring", 1024, 0, 1008);
  vec_put_header(v, 1008, 32, 1);
  vec_set_tail(v, 1008 + ns_record_size(32));
  vec_corrupt(v);
  vec_finish(v, dir);
}

static int command_write(const char *dir) {
  static vector v; /* large: keep it off the stack */
  write_valid_vectors(dir, &v);
  write_corrupt_vectors(dir, &v);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "write") == 0) return command_write(argv[2]);
  if (argc == 3 && strcmp(argv[1], "read") == 0) return command_read(argv[2]);
  fprintf(stderr, "usage: ring_vectors write <dir> | ring_vectors read <file.bin>\n");
  return 2;
}
