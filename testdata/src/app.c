// app.c: the program README's examples call ./app. It greets without arguments,
// prints its version with --version and, with --selftest, loads libm with dlopen
// (a library no DT_NEEDED entry names, which pack --trace finds). Any other argument
// is a usage error (exit 2), so an image that hands it a stray "--" fails.
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

// selftest loads libm at run time and calls cos(0), which must be 1.
static int selftest(void) {
	void *libm = dlopen("libm.so.6", RTLD_NOW);
	if (libm == NULL) {
		fprintf(stderr, "app: selftest: %s\n", dlerror());
		return 1;
	}
	double (*cosine)(double) = (double (*)(double))dlsym(libm, "cos");
	if (cosine == NULL || cosine(0) != 1) {
		fprintf(stderr, "app: selftest: cos from libm.so.6 is missing or wrong\n");
		return 1;
	}
	puts("app: selftest passed");
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 1) {
		puts("app: hello");
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		puts("app 1.2.0");
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--selftest") == 0) {
		return selftest();
	}
	fprintf(stderr, "app: unknown arguments, starting with %s (usage: app [--version | --selftest])\n", argv[1]);
	return 2;
}
