/* native/test/buffers_peer.c — the C side of the buffer pool's differential test (test/buffers-c.test.ts and the
 * TypeScript comparison): reads ops from stdin, one per line, and prints one verdict line per op (flushed).
 *
 *   buffers_peer create <file> <reserve> <max_segments> <max_buffers> <segment0_bytes> <growth_bytes>
 *   buffers_peer open <file>          (reader ops only; first line "ok" or "err NAME" from attach)
 *
 * Ops: alloc <len> | lend <hex> | free <hex> | return <hex> | reclaim | resolve <hex> | fill <hex> <seed> |
 * sum <hex> | stats | poke32 <offset> <value> | poke64 <offset> <value> | attach. <hex> is the 24 wire bytes of a
 * handle as 48 lowercase hex digits. Verdicts: "ok ..." or "err NAME" (NAME = the code without NS_BUFFERS_); a line
 * that does not parse (or an owner op in open mode) is "err EINVAL". Exit 0 at EOF. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "native_sidecar/buffers.h"

static const char *code_name(int code) {
  switch (code) {
    case NS_BUFFERS_OK: return "OK";
    case NS_BUFFERS_EMAGIC: return "EMAGIC";
    case NS_BUFFERS_EVERSION: return "EVERSION";
    case NS_BUFFERS_EHEADERSIZE: return "EHEADERSIZE";
    case NS_BUFFERS_EFLAGS: return "EFLAGS";
    case NS_BUFFERS_ELIMITS: return "ELIMITS";
    case NS_BUFFERS_ESEGMENT: return "ESEGMENT";
    case NS_BUFFERS_ECOUNT: return "ECOUNT";
    case NS_BUFFERS_EHANDLE: return "EHANDLE";
    case NS_BUFFERS_EBOUNDS: return "EBOUNDS";
    case NS_BUFFERS_ENOSPACE: return "ENOSPACE";
    case NS_BUFFERS_ETOOMANY: return "ETOOMANY";
    case NS_BUFFERS_EINVAL: return "EINVAL";
    case NS_BUFFERS_ENOTLIVE: return "ENOTLIVE";
    case NS_BUFFERS_ESYSTEM: return "ESYSTEM";
    default: return "EUNKNOWN";
  }
}

static uint8_t *g_base;
static uint64_t g_mapped;
static int g_fd = -1;
static ns_buffers_reader g_reader;
static ns_buffers_owner *g_owner;

static void err(int code) { printf("err %s\n", code_name(code)); }

static int extend_file(void *ctx, uint64_t size) { return ftruncate(*(int *)ctx, (off_t)size) == 0 ? 0 : -1; }

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  if (s == NULL || *s == '\0' || *s == '-') return 0;
  *out = strtoull(s, &end, 10);
  return *end == '\0';
}

static int parse_handle(const char *s, ns_buffers_handle *h) {
  uint8_t bytes[NS_BUFFERS_HANDLE_SIZE];
  size_t i;
  if (s == NULL || strlen(s) != 2 * NS_BUFFERS_HANDLE_SIZE) return 0;
  for (i = 0; i < NS_BUFFERS_HANDLE_SIZE; i++) {
    unsigned v;
    char pair[3] = {s[2 * i], s[2 * i + 1], 0};
    if (!strchr("0123456789abcdefABCDEF", pair[0]) || !strchr("0123456789abcdefABCDEF", pair[1])) return 0;
    sscanf(pair, "%x", &v);
    bytes[i] = (uint8_t)v;
  }
  memcpy(h, bytes, sizeof *h); /* little-endian host: the struct is the wire image */
  return 1;
}

static void print_handle(const ns_buffers_handle *h) {
  uint8_t bytes[NS_BUFFERS_HANDLE_SIZE];
  size_t i;
  memcpy(bytes, h, sizeof bytes);
  printf("ok ");
  for (i = 0; i < sizeof bytes; i++) printf("%02x", bytes[i]);
  printf("\n");
}

/* One op; returns nothing, prints exactly one line. */
static void run_op(char *line, int owner_ops) {
  char *argv[4] = {0};
  int argc = 0, rc;
  char *tok = strtok(line, " \t\r\n");
  ns_buffers_handle h;
  uint64_t a, b;
  uint8_t *data;
  while (tok != NULL && argc < 4) {
    argv[argc++] = tok;
    tok = strtok(NULL, " \t\r\n");
  }
  if (tok != NULL || argc == 0) return err(NS_BUFFERS_EINVAL);
  if (owner_ops && strcmp(argv[0], "alloc") == 0 && argc == 2) {
    if (!parse_u64(argv[1], &a) || a > UINT32_MAX) return err(NS_BUFFERS_EINVAL);
    rc = ns_buffers_alloc(g_owner, (uint32_t)a, &h, NULL);
    if (rc != NS_BUFFERS_OK) return err(rc);
    return print_handle(&h);
  }
  if (owner_ops && argc == 2 &&
      (strcmp(argv[0], "lend") == 0 || strcmp(argv[0], "free") == 0 || strcmp(argv[0], "return") == 0)) {
    if (!parse_handle(argv[1], &h)) return err(NS_BUFFERS_EINVAL);
    if (argv[0][0] == 'l') rc = ns_buffers_lend(g_owner, &h);
    else rc = ns_buffers_free(g_owner, &h, argv[0][0] == 'r' ? NS_BUFFERS_FROM_PEER : NS_BUFFERS_FROM_OWNER);
    if (rc != NS_BUFFERS_OK) return err(rc);
    printf("ok\n");
    return;
  }
  if (owner_ops && strcmp(argv[0], "reclaim") == 0 && argc == 1) {
    printf("ok %u\n", ns_buffers_reclaim_lent(g_owner));
    return;
  }
  if ((strcmp(argv[0], "resolve") == 0 || strcmp(argv[0], "sum") == 0) && argc == 2) {
    if (!parse_handle(argv[1], &h)) return err(NS_BUFFERS_EINVAL);
    rc = ns_buffers_resolve(&g_reader, &h, &data);
    if (rc != NS_BUFFERS_OK) return err(rc);
    if (argv[0][0] == 'r') {
      printf("ok %" PRIu64 " %u\n", (uint64_t)(data - g_base), h.length);
    } else {
      uint32_t sum = 0, j;
      for (j = 0; j < h.length; j++) sum += data[j];
      printf("ok %u\n", sum);
    }
    return;
  }
  if (strcmp(argv[0], "fill") == 0 && argc == 3) {
    uint32_t j;
    if (!parse_handle(argv[1], &h) || !parse_u64(argv[2], &a)) return err(NS_BUFFERS_EINVAL);
    rc = ns_buffers_resolve(&g_reader, &h, &data);
    if (rc != NS_BUFFERS_OK) return err(rc);
    for (j = 0; j < h.length; j++) data[j] = (uint8_t)((a + (uint64_t)j * 7) & 0xFF);
    printf("ok\n");
    return;
  }
  if (strcmp(argv[0], "stats") == 0 && argc == 1) {
    const ns_buffers_header *hd = (const ns_buffers_header *)g_base;
    printf("ok %u %u %u %u %u %" PRIu64 "\n",
           NS_ATOMIC_LOAD(&((ns_buffers_header *)g_base)->segment_count, NS_MO_ACQUIRE),
           NS_ATOMIC_LOAD(&((ns_buffers_header *)g_base)->allocations, NS_MO_RELAXED),
           NS_ATOMIC_LOAD(&((ns_buffers_header *)g_base)->failures, NS_MO_RELAXED),
           NS_ATOMIC_LOAD(&((ns_buffers_header *)g_base)->live_buffers, NS_MO_RELAXED),
           NS_ATOMIC_LOAD(&((ns_buffers_header *)g_base)->invalid_returns, NS_MO_RELAXED), hd->live_bytes);
    return;
  }
  if ((strcmp(argv[0], "poke32") == 0 || strcmp(argv[0], "poke64") == 0) && argc == 3) {
    int wide = argv[0][4] == '6';
    if (!parse_u64(argv[1], &a) || !parse_u64(argv[2], &b)) return err(NS_BUFFERS_EINVAL);
    if ((!wide && b > UINT32_MAX) || a > g_mapped || g_mapped - a < (wide ? 8u : 4u)) return err(NS_BUFFERS_EINVAL);
    if (wide) memcpy(g_base + a, &b, 8);
    else {
      uint32_t v = (uint32_t)b;
      memcpy(g_base + a, &v, 4);
    }
    printf("ok\n");
    return;
  }
  if (strcmp(argv[0], "attach") == 0 && argc == 1) {
    ns_buffers_reader fresh;
    rc = ns_buffers_reader_attach(&fresh, g_base, g_mapped, g_fd);
    if (rc != NS_BUFFERS_OK) return err(rc);
    g_reader = fresh;
    printf("ok\n");
    return;
  }
  err(NS_BUFFERS_EINVAL);
}

static int usage(void) {
  fprintf(stderr, "usage: buffers_peer create <file> <reserve> <max_segments> <max_buffers> <segment0_bytes> "
                  "<growth_bytes>\n       buffers_peer open <file>\n");
  return 2;
}

int main(int argc, char **argv) {
  char line[4096];
  int owner_ops = 0, rc;
  if (argc == 8 && strcmp(argv[1], "create") == 0) {
    uint64_t v[5];
    int i;
    for (i = 0; i < 5; i++)
      if (!parse_u64(argv[3 + i], &v[i])) return usage();
    g_fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (g_fd < 0 || ftruncate(g_fd, (off_t)(NS_BUFFERS_HEADER_SIZE + v[3])) != 0) {
      perror("buffers_peer: the pool file");
      return 1;
    }
    g_mapped = v[0];
    g_base = (uint8_t *)mmap(NULL, (size_t)g_mapped, PROT_READ | PROT_WRITE, MAP_SHARED, g_fd, 0);
    if (g_base == MAP_FAILED) {
      perror("buffers_peer: mmap");
      return 1;
    }
    rc = ns_buffers_init(g_base, v[0], (uint32_t)v[1], (uint32_t)v[2], v[3], 0);
    if (rc == NS_BUFFERS_OK) rc = ns_buffers_owner_attach(&g_owner, g_base, g_mapped, g_fd, v[4], extend_file, &g_fd);
    if (rc == NS_BUFFERS_OK) rc = ns_buffers_reader_attach(&g_reader, g_base, g_mapped, g_fd);
    if (rc != NS_BUFFERS_OK) {
      fprintf(stderr, "buffers_peer: create: the buffer pool %s\n", ns_buffers_strerror(rc));
      return 1;
    }
    owner_ops = 1;
  } else if (argc == 3 && strcmp(argv[1], "open") == 0) {
    ns_buffers_header d;
    g_fd = open(argv[2], O_RDWR);
    if (g_fd < 0 || pread(g_fd, &d, 32, 0) != 32) {
      err(NS_BUFFERS_ESYSTEM);
      fflush(stdout);
      return 0;
    }
    /* map at the reserve the descriptor states; attach checks the range (an absurd value fails mmap or attach) */
    g_mapped = d.reserve_bytes;
    g_base = g_mapped >= NS_BUFFERS_HEADER_SIZE && g_mapped <= NS_BUFFERS_MAX_RESERVE
                 ? (uint8_t *)mmap(NULL, (size_t)g_mapped, PROT_READ | PROT_WRITE, MAP_SHARED, g_fd, 0)
                 : (uint8_t *)MAP_FAILED;
    if (g_base == MAP_FAILED) {
      g_base = NULL;
      g_mapped = 0;
    }
    rc = g_base ? ns_buffers_reader_attach(&g_reader, g_base, g_mapped, g_fd) : NS_BUFFERS_ELIMITS;
    if (rc != NS_BUFFERS_OK) {
      /* a descriptor that fails before ELIMITS is reported by its own code: re-run the checks on a private copy */
      if (g_base == NULL) {
        static uint8_t copy[NS_BUFFERS_HEADER_SIZE];
        ns_buffers_reader tmp;
        if (pread(g_fd, copy, sizeof copy, 0) == (ssize_t)sizeof copy) rc = ns_buffers_reader_attach(&tmp, copy, sizeof copy, -1);
        if (rc == NS_BUFFERS_OK) rc = NS_BUFFERS_ELIMITS;
      }
      err(rc);
      fflush(stdout);
      return 0;
    }
    printf("ok\n");
    fflush(stdout);
  } else {
    return usage();
  }
  while (fgets(line, sizeof line, stdin) != NULL) {
    run_op(line, owner_ops);
    fflush(stdout);
  }
  if (g_owner) ns_buffers_owner_destroy(g_owner);
  return 0;
}
