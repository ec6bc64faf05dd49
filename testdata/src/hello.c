// hello.c: the smallest dynamic C fixture. Needs only libc.so.6 and the loader.
#include <stdio.h>

int main(void) {
	puts("hello from C");
	return 0;
}
