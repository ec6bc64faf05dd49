// exit3.c: prints a line and exits with status 3, so tests can check that an image's
// exit code reaches the caller.
#include <stdio.h>

int main(void) {
	puts("exiting with 3");
	return 3;
}
