// dlopen.c: loads a plugin by name and a codec by path at run time, and converts text
// with iconv (a gconv module), so that inspect's dlopen hints have something to find.
// Nothing it loads exists: it prints what it found and exits 0.
#include <dlfcn.h>
#include <iconv.h>
#include <stdio.h>

int main(void) {
	void *plugin = dlopen("libscratchpack-plugin.so.1", RTLD_NOW);
	void *codec = dlopen("/opt/scratchpack/plugins/libcodec.so", RTLD_NOW);
	iconv_t cd = iconv_open("UTF-8", "ISO-8859-15");
	printf("plugin %s, codec %s, iconv %s\n", plugin ? "loaded" : "missing", codec ? "loaded" : "missing",
	       cd == (iconv_t)-1 ? "missing" : "ok");
	return 0;
}
