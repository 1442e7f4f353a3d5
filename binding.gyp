{
  "target_defaults": {
    "include_dirs": ["native/include"],
    "cflags": ["-Wall", "-Wextra", "-O2", "-g"],
    "cflags_c": ["-std=c11", "-D_GNU_SOURCE"],
    "cflags_cc": ["-std=c++17"]
  },
  "targets": [
    {
      "target_name": "native_sidecar",
      "sources": ["<!@(ls -1 native/addon/*.cc)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/include", "native"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
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
      "target_name": "ring_vectors",
      "type": "executable",
      "sources": ["native/test/ring_vectors.c"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "bench_baselines",
      "type": "executable",
      "sources": ["native/bench/baselines.c"],
      "libraries": ["-lpthread"]
    }
  ]
}
