/* native/test/check.h — the tiny harness of the C test programs (ring_test.c, sidecar_claims_test.c): CHECK and
 * CHECK_EQ record a failure and go on (so one run reports every broken check), run_test prints one TAP-style line per
 * test. Single-threaded use only: the failure flag and counters are plain statics of the including program. */
#ifndef NATIVE_SIDECAR_TEST_CHECK_H
#define NATIVE_SIDECAR_TEST_CHECK_H

#include <stdio.h>

static int g_test_failed;
static int g_passed;
static int g_failed;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      g_test_failed = 1;                                                         \
    }                                                                            \
  } while (0)

#define CHECK_EQ(actual, expected)                                                                   \
  do {                                                                                               \
    long long a_ = (long long)(actual), e_ = (long long)(expected);                                  \
    if (a_ != e_) {                                                                                  \
      fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #actual, a_, \
              #expected, e_);                                                                        \
      g_test_failed = 1;                                                                             \
    }                                                                                                \
  } while (0)

static void run_test(const char *name, void (*fn)(void)) {
  g_test_failed = 0;
  fn();
  if (g_test_failed) {
    ++g_failed;
    printf("not ok - %s\n", name);
  } else {
    ++g_passed;
    printf("ok - %s\n", name);
  }
  fflush(stdout);
}

#endif /* NATIVE_SIDECAR_TEST_CHECK_H */
