// libgreet.c: built as libgreet.so.1.0.0 with soname libgreet.so.1.
#include <stdio.h>

#include "greet.h"

void greet(void) {
	puts("hello from libgreet");
}
