{
  "variables": {
    # Test and benchmark programs are built only when asked: npm test runs `node-gyp configure -- -Dns_tests=true`.
    "ns_tests%": "false"
  },
  "target_defaults": {
    "include_dirs": ["native/include"],
    "cflags": ["-Wall", "-Wextra", "-O2", "-g"],
    "cflags_c": ["-std=c11", "-D_GNU_SOURCE"],
    "cflags_cc": ["-std=c++17"]
  },
  "targets": [
    {
      "target_name": "native_sidecar",
      "sources": ["<!@(ls -1 native/addon/*.cc)", "native/sidecar/runtime.c", "native/sidecar/plugin_loader.c", "native/sidecar/scheduling.c"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/include", "native"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-lpthread", "-ldl"]
    },
    {
      "target_name": "ns_showcase",
      "type": "shared_library",
      "sources": ["<!@(ls -1 native/showcase/*.c)"],
      "include_dirs": ["native/include"],
      "cflags": ["-fvisibility=hidden"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "native-sidecar-host",
      "type": "executable",
      "sources": ["native/sidecar/main.c", "native/sidecar/runtime.c", "native/sidecar/plugin_loader.c", "native/sidecar/scheduling.c", "native/sidecar/sandbox.c"],
      "libraries": ["-ldl"]
    },
    { "target_name": "demo", "type": "shared_library", "product_prefix": "", "sources": ["examples/plugins/demo.c"] },
    { "target_name": "echo", "type": "shared_library", "product_prefix": "", "sources": ["examples/plugins/echo.c"] },
    { "target_name": "hash", "type": "shared_library", "product_prefix": "", "sources": ["examples/plugins/hash.c"] }
  ],
  "conditions": [
    ["ns_tests=='true'", {
      "targets": [
        {
          "target_name": "ring_test",
          "type": "executable",
          "sources": ["native/test/ring_test.c"],
          "libraries": ["-lpthread"]
        },
        {
          "target_name": "layout_dump",
          "type": "executable",
          "sources": ["native/test/layout_dump.c"],
          "libraries": ["-lpthread"]
        },
        {
          "target_name": "buffers_test",
          "type": "executable",
          "sources": ["native/test/buffers_test.c"],
          "libraries": ["-lpthread"]
        },
        {
          "target_name": "buffers_peer",
          "type": "executable",
          "sources": ["native/test/buffers_peer.c"],
          "libraries": ["-lpthread"]
        },
        {
          "target_name": "buffers_dump",
          "type": "executable",
          "sources": ["native/test/buffers_dump.c"],
          "libraries": ["-lpthread"]
        },
        {
          "target_name": "ring_vectors",
          "type": "executable",
          "sources": ["native/test/ring_vectors.c"],
          "libraries": ["-lpthread"]
        },
        {
          "target_name": "ring_peer",
          "type": "executable",
          "sources": ["native/test/ring_peer.c"],
          "libraries": ["-lpthread"]
        },
        {
          "target_name": "ring_scribbler",
          "type": "executable",
          "sources": ["native/test/ring_scribbler.c"],
          "libraries": ["-lpthread"]
        },
        {
          "target_name": "region_handover_peer",
          "type": "executable",
          "sources": ["native/test/region_handover_peer.c"]
        },
        {
          "target_name": "bench_baselines",
          "type": "executable",
          "sources": ["native/bench/baselines.c"],
          "libraries": ["-lpthread"]
        },
        {
          "target_name": "bench_stage_count",
          "type": "executable",
          "sources": ["native/bench/stage_count.c"]
        },
        {
          "target_name": "bench_original_ring",
          "type": "executable",
          "sources": ["native/bench/original_ring.c"]
        },
        {
          "target_name": "ns_bench_addon",
          "sources": ["native/bench/bench_addon.cc"],
          "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
          "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
          "cflags!": ["-fno-exceptions"],
          "cflags_cc!": ["-fno-exceptions"]
        },
        {
          "target_name": "deny_syscalls",
          "type": "executable",
          "sources": ["native/test/deny_syscalls.c"]
        },
        {
          "target_name": "sidecar_layout_dump",
          "type": "executable",
          "sources": ["native/test/sidecar_layout_dump.c"]
        },
        {
          "target_name": "sidecar_claims_test",
          "type": "executable",
          "sources": ["native/test/sidecar_claims_test.c", "native/sidecar/runtime.c", "native/sidecar/plugin_loader.c", "native/sidecar/scheduling.c"],
          "libraries": ["-ldl", "-lpthread"]
        },
        { "target_name": "test_faulty", "type": "shared_library", "product_prefix": "", "sources": ["native/test/plugins/faulty.c"] },
        { "target_name": "test_bad_abi", "type": "shared_library", "product_prefix": "", "sources": ["native/test/plugins/bad_abi.c"] },
        { "target_name": "test_init_fails", "type": "shared_library", "product_prefix": "", "sources": ["native/test/plugins/init_fails.c"] },
        { "target_name": "test_not_plugin", "type": "shared_library", "product_prefix": "", "sources": ["native/test/plugins/not_plugin.c"] },
        { "target_name": "test_lifecycle", "type": "shared_library", "product_prefix": "", "sources": ["native/test/plugins/lifecycle.c"] },
        { "target_name": "test_ledger", "type": "shared_library", "product_prefix": "", "sources": ["native/test/plugins/ledger.c"] },
        { "target_name": "test_spy", "type": "shared_library", "product_prefix": "", "sources": ["native/test/plugins/spy.c"] },
        { "target_name": "libns_test_dep", "type": "shared_library", "product_prefix": "", "sources": ["native/test/plugins/dep_lib.c"] },
        {
          "target_name": "test_needs_dep", "type": "shared_library", "product_prefix": "",
          "sources": ["native/test/plugins/needs_dep.c"],
          "dependencies": ["libns_test_dep"],
          "ldflags": ["-Wl,-rpath,'$$ORIGIN'"]
        }
      ]
    }]
  ]
}
