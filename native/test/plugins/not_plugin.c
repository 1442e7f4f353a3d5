/* not_plugin.c — a valid shared library that is not a plugin: it does not export ns_plugin_get. */
int not_a_plugin_answer(void);
int not_a_plugin_answer(void) { return 42; }
