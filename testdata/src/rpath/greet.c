// greet.c: linked with -rpath '$ORIGIN/../lib', installed as bin/greet beside
// lib/libgreet.so.1 -> libgreet.so.1.0.0, so the loader finds its library only through
// the rpath, relative to the binary.
#include "greet.h"

int main(void) {
	greet();
	return 0;
}
