/* pyiboot: a stand-in for PyInstaller's bootloader, to test scratchpack on
 * PyInstaller programs where PyInstaller itself cannot be installed. Like the
 * real one (bootloader/src/pyi_main.c, pyi_archive.c) it finds the CArchive
 * cookie "MEI\014\013\012\013\016" at the end of its own file (or of its
 * "pydata" section: it searches backwards), reads the table of contents and
 *
 *   onefile (the archive holds 'b'/'x' entries): extracts them, inflating
 *     zlib-compressed ones, into a new $TMPDIR/_MEIxxxxxx (TMPDIR defaults to
 *     /tmp), and removes it when done;
 *   onedir (no such entries): uses the _internal directory beside itself;
 *
 * runs itself again with _MEIPASS2 and LD_LIBRARY_PATH set to that directory,
 * then loads the Python library the cookie names with dlopen and calls its
 * pyfake_main with the Python version and the 's' (script) entry. The real
 * bootloader calls Py_Initialize and runs the script instead. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

static const char MAGIC[8] = "MEI\014\013\012\013\016";

struct toc {
	uint32_t len, off, dlen, ulen;
	unsigned char cflag, type;
	const char *name;
};

static unsigned char *self;
static long selfsize, start;
static uint32_t tocoff, toclen, pyvers;
static char pylib[65];

static uint32_t be32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return ntohl(v); }

static int load_self(void) {
	FILE *f = fopen("/proc/self/exe", "rb");
	if (!f) return -1;
	fseek(f, 0, SEEK_END);
	selfsize = ftell(f);
	fseek(f, 0, SEEK_SET);
	self = malloc(selfsize);
	if (!self || fread(self, 1, selfsize, f) != (size_t)selfsize) return -1;
	fclose(f);
	for (long i = selfsize - 88; i >= 0; i--) {
		if (memcmp(self + i, MAGIC, 8) == 0) {
			uint32_t len = be32(self + i + 8);
			tocoff = be32(self + i + 12);
			toclen = be32(self + i + 16);
			pyvers = be32(self + i + 20);
			memcpy(pylib, self + i + 24, 64);
			start = i + 88 - (long)len;
			return start >= 0 ? 0 : -1;
		}
	}
	return -1;
}

/* next_entry reads the TOC entry at *pos and advances it; 0 at the end. */
static int next_entry(uint32_t *pos, struct toc *t) {
	if (*pos >= toclen) return 0;
	const unsigned char *p = self + start + tocoff + *pos;
	t->len = be32(p); t->off = be32(p + 4); t->dlen = be32(p + 8); t->ulen = be32(p + 12);
	t->cflag = p[16]; t->type = p[17]; t->name = (const char *)p + 18;
	*pos += t->len;
	return t->len >= 18;
}

static unsigned char *entry_data(const struct toc *t) {
	unsigned char *out = malloc(t->ulen + 1);
	if (!out) return NULL;
	if (t->cflag) {
		uLongf n = t->ulen;
		if (uncompress(out, &n, self + start + t->off, t->dlen) != Z_OK || n != t->ulen) return NULL;
	} else {
		memcpy(out, self + start + t->off, t->dlen);
	}
	out[t->ulen] = 0;
	return out;
}

static int mkdirs(char *path) {
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (mkdir(path, 0700) != 0 && errno != EEXIST) return -1;
		*s = '/';
	}
	return 0;
}

static int rm(const char *p, const struct stat *s, int f, struct FTW *w) {
	(void)s; (void)f; (void)w;
	return remove(p);
}

int main(int argc, char **argv) {
	(void)argc;
	if (load_self() != 0) {
		fprintf(stderr, "[pyiboot] cannot find the archive cookie in /proc/self/exe\n");
		return 1;
	}
	struct toc t;
	uint32_t pos = 0;
	int onefile = 0;
	while (next_entry(&pos, &t))
		if (t.type == 'b' || t.type == 'x') onefile = 1;
	const char *meipass = getenv("_MEIPASS2");
	if (!meipass) {
		char dir[PATH_MAX];
		if (onefile) {
			const char *tmp = getenv("TMPDIR");
			snprintf(dir, sizeof dir, "%s/_MEIXXXXXX", tmp && *tmp ? tmp : "/tmp");
			if (!mkdtemp(dir)) {
				fprintf(stderr, "[pyiboot] Cannot create temporary directory %s: %s\n", dir, strerror(errno));
				return 1;
			}
			for (pos = 0; next_entry(&pos, &t);) {
				if (t.type != 'b' && t.type != 'x') continue;
				char out[2 * PATH_MAX];
				snprintf(out, sizeof out, "%s/%s", dir, t.name);
				unsigned char *data = entry_data(&t);
				FILE *f;
				if (!data || mkdirs(out) != 0 || !(f = fopen(out, "wb")) || fwrite(data, 1, t.ulen, f) != t.ulen || fclose(f) != 0) {
					fprintf(stderr, "[pyiboot] Failed to extract %s: %s\n", t.name, strerror(errno));
					return 1;
				}
				free(data);
			}
		} else {
			char exe[PATH_MAX];
			ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
			if (n < 0) return 1;
			exe[n] = 0;
			snprintf(dir, sizeof dir, "%s/_internal", dirname(exe));
		}
		/* Run again, so that the loader sees LD_LIBRARY_PATH. */
		setenv("_MEIPASS2", dir, 1);
		setenv("LD_LIBRARY_PATH", dir, 1);
		pid_t pid = fork();
		if (pid == 0) {
			execv("/proc/self/exe", argv);
			_exit(127);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		if (onefile) nftw(dir, rm, 16, FTW_DEPTH | FTW_PHYS);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	char lib[PATH_MAX + 80];
	snprintf(lib, sizeof lib, "%s/%s", meipass, pylib);
	void *h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		fprintf(stderr, "Error loading Python lib '%s': dlopen: %s\n", lib, dlerror());
		return 1;
	}
	int (*pymain)(int, const char *) = (int (*)(int, const char *))dlsym(h, "pyfake_main");
	if (!pymain) {
		fprintf(stderr, "[pyiboot] %s has no pyfake_main\n", lib);
		return 1;
	}
	const char *script = "";
	for (pos = 0; next_entry(&pos, &t);)
		if (t.type == 's') script = (const char *)entry_data(&t);
	return pymain((int)pyvers, script);
}
