/* dep_lib.c — a library a test plugin depends on (needs_dep.c), found next to it through RPATH $ORIGIN: what a real
 * plugin's private dependency looks like to the sandbox, which lets the loader read only the system library
 * directories and sandbox.readPaths (test/sandbox.test.ts). */
__attribute__((visibility("default"))) int ns_test_dep_answer(void) { return 42; }
