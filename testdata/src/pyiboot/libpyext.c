/* libpyext.so.1: an embedded library that pyiboot's libpython needs; it is
 * inside the archive, so it must not be taken from the system. */
const char *pyext_greeting(void) { return "hello from an embedded extension"; }
