/* sidecar_layout_dump — prints the sidecar constants and offsetof() of ns_sidecar_control (docs/wire-format.md §7)
 * as one JSON object, for test/sidecar-layout.test.ts to compare with src/sidecar/layout.ts. */
#include <stddef.h>
#include <stdio.h>

#include "native_sidecar/layout.h"
#include "native_sidecar/plugin.h"

#define FIELD(name) printf("  \"CONTROL_%s_OFFSET\": %u,\n", #name, (unsigned)offsetof(ns_sidecar_control, name))
#define CONST(name, value) printf("  \"%s\": %lu,\n", name, (unsigned long)(value))

int main(void) {
  printf("{\n");
  CONST("SIDECAR_MAGIC", NS_SIDECAR_MAGIC);
  CONST("SIDECAR_VERSION", NS_SIDECAR_VERSION);
  CONST("SIDECAR_CONTROL_SIZE", sizeof(ns_sidecar_control));
  CONST("SIDECAR_ERROR_MAX", NS_SIDECAR_ERROR_MAX);
  CONST("SIDECAR_HOST_WANTS_PROCESS", NS_SIDECAR_HOST_WANTS_PROCESS);
  CONST("SIDECAR_MSG_HEADER_SIZE", sizeof(ns_sidecar_msg_header));
  CONST("MSG_COMMAND", NS_SIDECAR_MSG_COMMAND);
  CONST("MSG_READY", NS_SIDECAR_MSG_READY);
  CONST("MSG_PROCESS", NS_SIDECAR_MSG_PROCESS);
  CONST("MSG_EVENT", NS_SIDECAR_MSG_EVENT);
  CONST("MSG_REPLY", NS_SIDECAR_MSG_REPLY);
  CONST("MSG_LOG", NS_SIDECAR_MSG_LOG);
  CONST("MSG_DISPOSED", NS_SIDECAR_MSG_DISPOSED);
  CONST("STATE_CREATED", NS_SIDECAR_STATE_CREATED);
  CONST("STATE_LOADING", NS_SIDECAR_STATE_LOADING);
  CONST("STATE_INITIALIZING", NS_SIDECAR_STATE_INITIALIZING);
  CONST("STATE_RUNNING", NS_SIDECAR_STATE_RUNNING);
  CONST("STATE_DISPOSING", NS_SIDECAR_STATE_DISPOSING);
  CONST("STATE_EXITED", NS_SIDECAR_STATE_EXITED);
  CONST("STATE_FAILED", NS_SIDECAR_STATE_FAILED);
  CONST("CALL_NONE", NS_SIDECAR_CALL_NONE);
  CONST("CALL_INIT", NS_SIDECAR_CALL_INIT);
  CONST("CALL_PROCESS", NS_SIDECAR_CALL_PROCESS);
  CONST("CALL_DISPOSE", NS_SIDECAR_CALL_DISPOSE);
  CONST("EXIT_NONE", NS_SIDECAR_EXIT_NONE);
  CONST("EXIT_NORMAL", NS_SIDECAR_EXIT_NORMAL);
  CONST("EXIT_BAD_REGION", NS_SIDECAR_EXIT_BAD_REGION);
  CONST("EXIT_LOAD_FAILED", NS_SIDECAR_EXIT_LOAD_FAILED);
  CONST("EXIT_NOT_PLUGIN", NS_SIDECAR_EXIT_NOT_PLUGIN);
  CONST("EXIT_ABI_MISMATCH", NS_SIDECAR_EXIT_ABI_MISMATCH);
  CONST("EXIT_INIT_FAILED", NS_SIDECAR_EXIT_INIT_FAILED);
  CONST("EXIT_CORRUPT", NS_SIDECAR_EXIT_CORRUPT);
  CONST("EXIT_PARENT_DIED", NS_SIDECAR_EXIT_PARENT_DIED);
  CONST("EXIT_USAGE", NS_SIDECAR_EXIT_USAGE);
  CONST("EXIT_CODE_BASE", NS_SIDECAR_EXIT_CODE_BASE);
  CONST("PLUGIN_ABI_VERSION", NS_PLUGIN_ABI_VERSION);
  FIELD(magic);
  FIELD(version);
  FIELD(header_size);
  FIELD(command_segment);
  FIELD(event_segment);
  FIELD(config_length);
  FIELD(host_flags);
  FIELD(host_pid);
  FIELD(state);
  FIELD(heartbeat);
  FIELD(in_plugin);
  FIELD(pid);
  FIELD(exit_reason);
  FIELD(error_code);
  FIELD(processed);
  FIELD(error_length);
  printf("  \"CONTROL_ERROR_OFFSET\": %u\n}\n", (unsigned)offsetof(ns_sidecar_control, error));
  return 0;
}
