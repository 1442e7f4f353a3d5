/* native/test/sidecar_claims_test.c — tests of the sidecar runtime's side of wire-format §8.3 (claim words, progress
 * counters, redelivery) and of the host service command_flags (plugin ABI 1.1), driven without the TypeScript host.
 *
 * Usage: sidecar_claims_test PATH_OF_test_faulty.so
 * Each test builds a region in anonymous shared memory as a host would (control block, command ring, event ring),
 * writes commands — claim words set by hand where the test plays a host that withdrew a command or wrote a bad word —
 * closes the command ring, and runs the runtime in a forked child (so a plugin crash ends only the child). The parent
 * then reads the event ring, the control block and the claim words the child left behind.
 * Prints "ok - <name>" / "not ok - <name>" per test, diagnostics on stderr, and as its last line
 * "<N> passed, <N> failed". Exits 0 only when nothing failed. Run by test/sidecar-claims.test.ts. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "native_sidecar/layout.h"
#include "native_sidecar/plugin.h"
#include "native_sidecar/region.h"
#include "native_sidecar/ring.h"
#include "../sidecar/runtime.h"
#include "check.h"

/* The harness (CHECK, CHECK_EQ, run_test) is check.h. */

static const char *g_faulty;

/* ------------------------------------------------------------------------------------------- a host by hand */

#define REGION_SIZE (1u << 20)
#define COMMAND_CAPACITY 4096u
#define EVENT_CAPACITY 65536u
#define MAX_COMMANDS 16
#define MAX_MESSAGES 64

typedef struct message {
  uint32_t kind, arg0, arg1, length;
  uint8_t data[64];
} message;

typedef struct host {
  uint8_t *mem; /* MAP_SHARED: what the child writes is seen here */
  ns_region_header header;
  ns_sidecar_control *control;
  ns_ring commands; /* producer end */
  ns_ring events;   /* consumer end, read after the child ended */
  uint8_t *command_data;
  uint32_t command_position;
  uint32_t command_count;
  uint32_t word_offset[MAX_COMMANDS]; /* offset in command_data of each command's claim word */
  /* after run() */
  int exited; /* 1: exit status in status; 0: killed by signal */
  int status;
  uint32_t reason;
  message messages[MAX_MESSAGES];
  uint32_t message_count;
} host;

static void host_open(host *h, uint32_t host_flags, uint32_t redelivered) {
  uint32_t control_index, command_index, event_index, control_offset, command_offset, event_offset;
  memset(h, 0, sizeof *h);
  h->mem = (uint8_t *)mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (h->mem == MAP_FAILED) {
    perror("mmap");
    exit(2);
  }
  CHECK_EQ(ns_region_init(h->mem, REGION_SIZE, (uint32_t)getpid()), NS_REGION_OK);
  CHECK_EQ(ns_region_add_segment(h->mem, NS_SEGMENT_KIND_SIDECAR_CONTROL, NS_SIDECAR_CONTROL_SIZE, &control_index,
                                 &control_offset),
           NS_REGION_OK);
  CHECK_EQ(ns_region_add_segment(h->mem, NS_SEGMENT_KIND_RING, (uint32_t)ns_ring_segment_size(COMMAND_CAPACITY),
                                 &command_index, &command_offset),
           NS_REGION_OK);
  CHECK_EQ(ns_region_add_segment(h->mem, NS_SEGMENT_KIND_RING, (uint32_t)ns_ring_segment_size(EVENT_CAPACITY),
                                 &event_index, &event_offset),
           NS_REGION_OK);
  (void)control_index;
  CHECK_EQ(ns_ring_init(h->mem + command_offset, ns_ring_segment_size(COMMAND_CAPACITY), COMMAND_CAPACITY, 0, 0),
           NS_RING_OK);
  CHECK_EQ(ns_ring_init(h->mem + event_offset, ns_ring_segment_size(EVENT_CAPACITY), EVENT_CAPACITY, 0, 0),
           NS_RING_OK);
  CHECK_EQ(ns_ring_attach(&h->commands, h->mem + command_offset, ns_ring_segment_size(COMMAND_CAPACITY)), NS_RING_OK);
  h->command_data = h->mem + command_offset + NS_RING_HEADER_SIZE;
  h->control = (ns_sidecar_control *)(void *)(h->mem + control_offset);
  h->control->magic = NS_SIDECAR_MAGIC;
  h->control->version = (uint16_t)NS_SIDECAR_VERSION;
  h->control->header_size = (uint16_t)NS_SIDECAR_CONTROL_SIZE;
  h->control->command_segment = command_index;
  h->control->event_segment = event_index;
  h->control->config_length = 0;
  h->control->host_flags = host_flags;
  h->control->host_pid = (uint32_t)getpid();
  h->control->redelivered = redelivered;
  CHECK_EQ(ns_region_validate(h->mem, REGION_SIZE, &h->header, NULL), NS_REGION_OK);
}

/* Writes a COMMAND {type, claim word, data}; returns its ordinal. The positions start at 0 and stay below the
 * capacity, so each record lies where the running sum of record sizes says. */
static uint32_t host_command(host *h, uint32_t type, uint32_t word, const char *text) {
  uint8_t payload[NS_SIDECAR_MSG_HEADER_SIZE + 64];
  uint32_t length = (uint32_t)strlen(text);
  memcpy(payload, &type, 4);
  memcpy(payload + 4, &word, 4);
  memcpy(payload + NS_SIDECAR_MSG_HEADER_SIZE, text, length);
  CHECK_EQ(ns_ring_try_write(&h->commands, NS_SIDECAR_MSG_COMMAND, payload, NS_SIDECAR_MSG_HEADER_SIZE + length),
           NS_RING_OK);
  h->word_offset[h->command_count] = h->command_position + NS_RECORD_HEADER_SIZE + 4u;
  h->command_position += ns_record_size(NS_SIDECAR_MSG_HEADER_SIZE + length);
  return h->command_count++;
}

static NS_ATOMIC_U32 *claim_word(host *h, uint32_t ordinal) {
  return (NS_ATOMIC_U32 *)(void *)(h->command_data + h->word_offset[ordinal]);
}

/* The host's withdrawal: CAS from its own value to WITHDRAWN (here before the sidecar runs, so it always wins). */
static void host_withdraw(host *h, uint32_t ordinal, uint32_t value) {
  uint32_t expected = value;
  CHECK(NS_ATOMIC_CAS(claim_word(h, ordinal), &expected, NS_SIDECAR_CMD_WITHDRAWN, NS_MO_SEQ_CST, NS_MO_SEQ_CST));
}

static uint32_t word_of(host *h, uint32_t ordinal) { return NS_ATOMIC_LOAD(claim_word(h, ordinal), NS_MO_ACQUIRE); }
static uint32_t started(host *h) { return NS_ATOMIC_LOAD(&h->control->started, NS_MO_ACQUIRE); }
static uint32_t completed(host *h) { return NS_ATOMIC_LOAD(&h->control->completed, NS_MO_ACQUIRE); }
static uint32_t processed(host *h) { return NS_ATOMIC_LOAD(&h->control->processed, NS_MO_ACQUIRE); }

typedef uint32_t (*child_fn)(host *h);

static uint32_t child_main(host *h) {
  return ns_runtime_main(h->mem, &h->header, g_faulty, (ns_wait_policy)NS_WAIT_POLICY_DEFAULT, -1, NULL, NULL);
}

static int on_event(void *ctx, uint32_t kind, const uint8_t *payload, uint32_t length) {
  host *h = (host *)ctx;
  message *m;
  if (h->message_count >= MAX_MESSAGES || length < NS_SIDECAR_MSG_HEADER_SIZE) return 1;
  m = &h->messages[h->message_count++];
  m->kind = kind;
  memcpy(&m->arg0, payload, 4);
  memcpy(&m->arg1, payload + 4, 4);
  m->length = length - NS_SIDECAR_MSG_HEADER_SIZE;
  memcpy(m->data, payload + NS_SIDECAR_MSG_HEADER_SIZE, m->length < sizeof m->data ? m->length : sizeof m->data);
  return 0;
}

/* Closes the command ring (the host's stop), runs `fn` in a child and collects what it left behind. */
static void host_run(host *h, child_fn fn) {
  pid_t pid;
  int status = 0;
  size_t event_size = 0;
  void *event_mem;
  ns_ring_close_producer(&h->commands);
  fflush(NULL);
  pid = fork();
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    (void)setrlimit(RLIMIT_CORE, &no_core); /* a test plugin's segfault leaves no core file */
    _exit((int)fn(h));
  }
  CHECK(pid > 0);
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  h->exited = WIFEXITED(status);
  h->status = h->exited ? WEXITSTATUS(status) : WTERMSIG(status);
  h->reason = h->exited ? (uint32_t)WEXITSTATUS(status) : 0;
  event_mem = h->mem + h->header.segments[h->control->event_segment].offset;
  event_size = h->header.segments[h->control->event_segment].size;
  CHECK_EQ(ns_ring_attach(&h->events, event_mem, event_size), NS_RING_OK);
  for (;;) {
    int n = ns_ring_read(&h->events, on_event, h, 0);
    if (n <= 0) break;
  }
}

static void host_close(host *h) { munmap(h->mem, REGION_SIZE); }

/* The index of the first message of `kind` from index `from` on, or -1. */
static int find(const host *h, uint32_t kind, uint32_t from) {
  uint32_t i;
  for (i = from; i < h->message_count; i++)
    if (h->messages[i].kind == kind) return (int)i;
  return -1;
}

static uint32_t count_kind(const host *h, uint32_t kind) {
  uint32_t i, n = 0;
  for (i = 0; i < h->message_count; i++) n += h->messages[i].kind == kind;
  return n;
}

static uint32_t u32_of(const message *m) {
  uint32_t v = 0;
  if (m->length >= 4) memcpy(&v, m->data, 4);
  return v;
}

/* --------------------------------------------------------------------------------------------------- tests */

/* faulty.c's command types */
#define FAULTY_SEGFAULT 1u
#define FAULTY_FLAGS 5u
#define FAULTY_UNLESS_REDELIVERED 6u
#define ECHO 99u /* any type faulty.c does not give a meaning (8 sleeps, 9 identifies the instance) echoes */

static void test_claims(void) {
  host h;
  int i;
  host_open(&h, NS_SIDECAR_HOST_WANTS_PROCESS, 0);
  host_command(&h, ECHO, 0, "send");
  host_command(&h, ECHO, 1, "req1");
  host_command(&h, ECHO, NS_SIDECAR_MAX_REQUEST_ID, "max");
  host_run(&h, child_main);
  CHECK(h.exited);
  CHECK_EQ(h.reason, NS_SIDECAR_EXIT_NORMAL);
  /* the words carry the started bit over the host's value */
  CHECK_EQ(word_of(&h, 0), NS_SIDECAR_CMD_STARTED_BIT);
  CHECK_EQ(word_of(&h, 1), NS_SIDECAR_CMD_STARTED_BIT | 1u);
  CHECK_EQ(word_of(&h, 2), NS_SIDECAR_CMD_STARTED_BIT | NS_SIDECAR_MAX_REQUEST_ID);
  CHECK_EQ(started(&h), 3);
  CHECK_EQ(completed(&h), 3);
  CHECK_EQ(processed(&h), 3);
  /* PROCESS, REPLY and the plugin see the host's value, without the bit */
  CHECK_EQ(count_kind(&h, NS_SIDECAR_MSG_PROCESS), 3);
  i = find(&h, NS_SIDECAR_MSG_PROCESS, 0);
  CHECK(i >= 0 && h.messages[i].arg1 == 0);
  i = find(&h, NS_SIDECAR_MSG_PROCESS, (uint32_t)i + 1);
  CHECK(i >= 0 && h.messages[i].arg1 == 1);
  i = find(&h, NS_SIDECAR_MSG_PROCESS, (uint32_t)i + 1);
  CHECK(i >= 0 && h.messages[i].arg1 == NS_SIDECAR_MAX_REQUEST_ID);
  i = find(&h, NS_SIDECAR_MSG_REPLY, 0);
  CHECK(i >= 0 && h.messages[i].arg0 == 1 && h.messages[i].arg1 == 0 && memcmp(h.messages[i].data, "req1", 4) == 0);
  i = find(&h, NS_SIDECAR_MSG_REPLY, (uint32_t)i + 1);
  CHECK(i >= 0 && h.messages[i].arg0 == NS_SIDECAR_MAX_REQUEST_ID);
  CHECK_EQ(count_kind(&h, NS_SIDECAR_MSG_EVENT), 1);
  CHECK_EQ(count_kind(&h, NS_SIDECAR_MSG_DISPOSED), 1);
  host_close(&h);
}

static void test_withdrawn(void) {
  host h;
  int i;
  host_open(&h, NS_SIDECAR_HOST_WANTS_PROCESS, 0);
  host_command(&h, ECHO, 1, "kept1");
  host_command(&h, ECHO, 2, "gone2");
  host_command(&h, ECHO, 0, "gone-send");
  host_command(&h, ECHO, 3, "kept3");
  host_withdraw(&h, 1, 2);
  host_withdraw(&h, 2, 0);
  host_run(&h, child_main);
  CHECK_EQ(h.reason, NS_SIDECAR_EXIT_NORMAL);
  /* taken and finished, no process call, no PROCESS message, no reply, no event; the word stays WITHDRAWN */
  CHECK_EQ(started(&h), 4);
  CHECK_EQ(completed(&h), 4);
  CHECK_EQ(processed(&h), 2);
  CHECK_EQ(word_of(&h, 1), NS_SIDECAR_CMD_WITHDRAWN);
  CHECK_EQ(word_of(&h, 2), NS_SIDECAR_CMD_WITHDRAWN);
  CHECK_EQ(word_of(&h, 3), NS_SIDECAR_CMD_STARTED_BIT | 3u);
  CHECK_EQ(count_kind(&h, NS_SIDECAR_MSG_PROCESS), 2);
  CHECK_EQ(count_kind(&h, NS_SIDECAR_MSG_REPLY), 2);
  CHECK_EQ(count_kind(&h, NS_SIDECAR_MSG_EVENT), 0);
  i = find(&h, NS_SIDECAR_MSG_REPLY, 0);
  CHECK(i >= 0 && h.messages[i].arg0 == 1);
  i = find(&h, NS_SIDECAR_MSG_REPLY, (uint32_t)i + 1);
  CHECK(i >= 0 && h.messages[i].arg0 == 3);
  host_close(&h);
}

static void test_redelivered_first(void) {
  host h;
  int i;
  host_open(&h, 0, 1);
  host_command(&h, FAULTY_FLAGS, 1, "");
  host_command(&h, FAULTY_FLAGS, 2, "");
  host_command(&h, FAULTY_FLAGS, 0, "");
  host_run(&h, child_main);
  CHECK_EQ(h.reason, NS_SIDECAR_EXIT_NORMAL);
  i = find(&h, NS_SIDECAR_MSG_REPLY, 0);
  CHECK(i >= 0 && h.messages[i].arg0 == 1 && h.messages[i].length == 4 && u32_of(&h.messages[i]) == NS_COMMAND_REDELIVERED);
  i = find(&h, NS_SIDECAR_MSG_REPLY, (uint32_t)i + 1);
  CHECK(i >= 0 && h.messages[i].arg0 == 2 && u32_of(&h.messages[i]) == 0);
  i = find(&h, NS_SIDECAR_MSG_EVENT, 0);
  CHECK(i >= 0 && h.messages[i].arg0 == FAULTY_FLAGS && h.messages[i].length == 4 && u32_of(&h.messages[i]) == 0);
  host_close(&h);
}

static void test_redelivered_counts_withdrawn(void) {
  host h;
  int i;
  host_open(&h, 0, 1);
  host_command(&h, FAULTY_FLAGS, 1, "");
  host_command(&h, FAULTY_FLAGS, 2, "");
  host_withdraw(&h, 0, 1);
  host_run(&h, child_main);
  CHECK_EQ(h.reason, NS_SIDECAR_EXIT_NORMAL);
  CHECK_EQ(count_kind(&h, NS_SIDECAR_MSG_REPLY), 1);
  i = find(&h, NS_SIDECAR_MSG_REPLY, 0);
  CHECK(i >= 0 && h.messages[i].arg0 == 2 && u32_of(&h.messages[i]) == 0);
  host_close(&h);
}

static void test_redelivered_untrusted(void) {
  host h;
  int i;
  host_open(&h, 0, 0xFFFFFFFFu);
  host_command(&h, FAULTY_FLAGS, 1, "");
  host_command(&h, FAULTY_FLAGS, 2, "");
  host_run(&h, child_main);
  CHECK_EQ(h.reason, NS_SIDECAR_EXIT_NORMAL);
  i = find(&h, NS_SIDECAR_MSG_REPLY, 0);
  CHECK(i >= 0 && u32_of(&h.messages[i]) == NS_COMMAND_REDELIVERED);
  i = find(&h, NS_SIDECAR_MSG_REPLY, (uint32_t)i + 1);
  CHECK(i >= 0 && u32_of(&h.messages[i]) == NS_COMMAND_REDELIVERED);
  CHECK_EQ(completed(&h), 2);
  host_close(&h);
}

static void test_death_inside_process(void) {
  host h;
  host_open(&h, NS_SIDECAR_HOST_WANTS_PROCESS, 0);
  host_command(&h, ECHO, 1, "done");
  host_command(&h, FAULTY_UNLESS_REDELIVERED, 2, "dies");
  host_command(&h, ECHO, 3, "never");
  host_run(&h, child_main);
  CHECK(!h.exited);
  CHECK_EQ(h.status, SIGSEGV);
  /* started = completed + 1: the command with ordinal `completed` was inside process */
  CHECK_EQ(completed(&h), 1);
  CHECK_EQ(started(&h), 2);
  CHECK_EQ(word_of(&h, 1), NS_SIDECAR_CMD_STARTED_BIT | 2u);
  CHECK_EQ(word_of(&h, 2), 3u); /* not taken */
  CHECK_EQ(count_kind(&h, NS_SIDECAR_MSG_REPLY), 1);
  CHECK_EQ(count_kind(&h, NS_SIDECAR_MSG_PROCESS), 2); /* the PROCESS message precedes the call */
  host_close(&h);
}

static void test_redelivery_after_death(void) {
  host h;
  int i;
  /* what a restarting host writes into the fresh ring after test_death_inside_process */
  host_open(&h, 0, 1);
  host_command(&h, FAULTY_UNLESS_REDELIVERED, 2, "dies");
  host_command(&h, ECHO, 3, "never");
  host_run(&h, child_main);
  CHECK(h.exited);
  CHECK_EQ(h.reason, NS_SIDECAR_EXIT_NORMAL);
  i = find(&h, NS_SIDECAR_MSG_REPLY, 0);
  CHECK(i >= 0 && h.messages[i].arg0 == 2 && h.messages[i].length == 4 && memcmp(h.messages[i].data, "dies", 4) == 0);
  i = find(&h, NS_SIDECAR_MSG_REPLY, (uint32_t)i + 1);
  CHECK(i >= 0 && h.messages[i].arg0 == 3);
  CHECK_EQ(started(&h), 2);
  CHECK_EQ(completed(&h), 2);
  host_close(&h);
}

static void test_started_bit_is_corrupt(void) {
  static const uint32_t bad[] = {NS_SIDECAR_CMD_STARTED_BIT | 7u, NS_SIDECAR_CMD_STARTED_BIT, 0xFFFFFFFFu};
  size_t k;
  for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    host h;
    host_open(&h, NS_SIDECAR_HOST_WANTS_PROCESS, 0);
    host_command(&h, ECHO, 1, "ok");
    host_command(&h, FAULTY_SEGFAULT, bad[k], "bad"); /* processing it would crash the child */
    host_command(&h, ECHO, 2, "after");
    host_run(&h, child_main);
    CHECK(h.exited);
    CHECK_EQ(h.reason, NS_SIDECAR_EXIT_CORRUPT);
    CHECK_EQ(NS_ATOMIC_LOAD(&h.control->state, NS_MO_ACQUIRE), NS_SIDECAR_STATE_FAILED);
    CHECK_EQ(NS_ATOMIC_LOAD(&h.control->exit_reason, NS_MO_ACQUIRE), NS_SIDECAR_EXIT_CORRUPT);
    CHECK_EQ(started(&h), 1);
    CHECK_EQ(completed(&h), 1);
    CHECK_EQ(processed(&h), 1);
    CHECK_EQ(word_of(&h, 1), bad[k]); /* untouched */
    CHECK_EQ(word_of(&h, 2), 2u);
    CHECK_EQ(count_kind(&h, NS_SIDECAR_MSG_PROCESS), 1);
    CHECK_EQ(count_kind(&h, NS_SIDECAR_MSG_REPLY), 1);
    host_close(&h);
  }
}

/* An inline plugin that records what command_flags returns in each situation. */
typedef struct flag_probe {
  uint32_t struct_size;
  uint32_t in_init, in_dispose, from_thread, in_process[4];
  uint32_t process_calls;
} flag_probe;

static flag_probe *g_probe; /* MAP_SHARED: written by the child */
static const ns_host_services *g_host;

static uint32_t probe_flags(void) {
  return NS_PLUGIN_HAS_FIELD(g_host, ns_host_services, command_flags) ? g_host->command_flags(g_host) : 0xDEADu;
}

static void *probe_thread(void *arg) {
  (void)arg;
  g_probe->from_thread = probe_flags();
  return NULL;
}

static int probe_init(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
                      char *error, uint32_t error_size) {
  (void)config, (void)config_length, (void)state, (void)error, (void)error_size;
  g_host = host;
  g_probe->struct_size = host->struct_size;
  g_probe->in_init = probe_flags();
  return 0;
}

static int probe_process(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t request_id) {
  (void)state, (void)payload, (void)length;
  if (g_probe->process_calls < 4) g_probe->in_process[g_probe->process_calls] = probe_flags();
  g_probe->process_calls++;
  if (type == 1) {
    pthread_t t;
    if (pthread_create(&t, NULL, probe_thread, NULL) == 0) pthread_join(t, NULL);
  }
  if (type == 2) return 42; /* a failed request: the runtime sends the failure REPLY */
  return request_id != 0 ? g_host->reply(g_host, request_id, NULL, 0) : 0;
}

static void probe_dispose(void *state) {
  (void)state;
  g_probe->in_dispose = probe_flags();
}

static const ns_plugin probe_plugin = {
    NS_PLUGIN_ABI_VERSION, sizeof(ns_plugin), "probe", probe_init, probe_process, probe_dispose,
};

static uint32_t probe_main(host *h) {
  ns_runtime rt;
  if (ns_runtime_attach(&rt, h->mem, &h->header, (ns_wait_policy)NS_WAIT_POLICY_DEFAULT) != 0)
    return NS_SIDECAR_EXIT_BAD_REGION;
  return ns_runtime_run(&rt, &probe_plugin);
}

static void test_command_flags_service(void) {
  host h;
  int i;
  g_probe = (flag_probe *)mmap(NULL, sizeof *g_probe, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(g_probe != MAP_FAILED);
  if (g_probe == MAP_FAILED) return;
  memset(g_probe, 0xAB, sizeof *g_probe);
  g_probe->process_calls = 0;
  host_open(&h, 0, 2);
  host_command(&h, 1, 0, "thread");  /* redelivered; calls command_flags from another thread */
  host_command(&h, 2, 7, "fails");   /* redelivered; returns 42 */
  host_command(&h, 0, 8, "plain");   /* not redelivered */
  host_run(&h, probe_main);
  CHECK_EQ(h.reason, NS_SIDECAR_EXIT_NORMAL);
  CHECK(g_probe->struct_size >= NS_HOST_SERVICES_V1_1_SIZE);
  CHECK_EQ(g_probe->in_init, 0);
  CHECK_EQ(g_probe->in_dispose, 0);
  CHECK_EQ(g_probe->from_thread, 0);
  CHECK_EQ(g_probe->process_calls, 3);
  CHECK_EQ(g_probe->in_process[0], NS_COMMAND_REDELIVERED);
  CHECK_EQ(g_probe->in_process[1], NS_COMMAND_REDELIVERED);
  CHECK_EQ(g_probe->in_process[2], 0);
  /* the failure REPLY carries the host's request id (not the claimed word) and precedes `completed` */
  i = find(&h, NS_SIDECAR_MSG_REPLY, 0);
  CHECK(i >= 0 && h.messages[i].arg0 == 7 && h.messages[i].arg1 == 42);
  i = find(&h, NS_SIDECAR_MSG_REPLY, (uint32_t)i + 1);
  CHECK(i >= 0 && h.messages[i].arg0 == 8 && h.messages[i].arg1 == 0);
  CHECK_EQ(completed(&h), 3);
  host_close(&h);
  munmap(g_probe, sizeof *g_probe);
}

static void test_command_flags_cleared(void) {
  host h;
  g_probe = (flag_probe *)mmap(NULL, sizeof *g_probe, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(g_probe != MAP_FAILED);
  if (g_probe == MAP_FAILED) return;
  memset(g_probe, 0xAB, sizeof *g_probe);
  g_probe->process_calls = 0;
  host_open(&h, 0, 1);
  host_command(&h, 0, 0, "last"); /* the last command is redelivered: dispose, right after it, must see 0 */
  host_run(&h, probe_main);
  CHECK_EQ(h.reason, NS_SIDECAR_EXIT_NORMAL);
  CHECK_EQ(g_probe->process_calls, 1);
  CHECK_EQ(g_probe->in_process[0], NS_COMMAND_REDELIVERED);
  CHECK_EQ(g_probe->in_dispose, 0);
  host_close(&h);
  munmap(g_probe, sizeof *g_probe);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: sidecar_claims_test PATH_OF_test_faulty.so\n");
    return 2;
  }
  g_faulty = argv[1];
  run_test("claims: the word gets the started bit; process, PROCESS and REPLY see the host's value", test_claims);
  run_test("a withdrawn command is skipped: no process call, PROCESS or reply; both counters count it",
           test_withdrawn);
  run_test("redelivered = 1 flags the first command only (command_flags in process)", test_redelivered_first);
  run_test("redelivered counts ring positions: a withdrawn first command uses up the flag",
           test_redelivered_counts_withdrawn);
  run_test("an out-of-range redelivered only flags more commands", test_redelivered_untrusted);
  run_test("a death inside process leaves started = completed + 1 and the started bit on that command only",
           test_death_inside_process);
  run_test("the redelivered command that crashed before is processed when flagged", test_redelivery_after_death);
  run_test("a claim word with bit 31 set is a protocol error: exit corrupt, the command is not processed",
           test_started_bit_is_corrupt);
  run_test("command_flags is 0 in init, dispose and from another thread; the failure REPLY has the host's id",
           test_command_flags_service);
  run_test("the flag ends with the process call of the redelivered command", test_command_flags_cleared);
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
