/* The stand-in for libpython3.11.so.1.0 that pyiboot loads: it needs libm.so.6,
 * a system library PyInstaller leaves out of its archives, and libpyext.so.1,
 * which travels inside; and, like the real libpython (PyThread_exit_thread),
 * it ends a thread with pthread_exit, so glibc loads libgcc_s.so.1 at run time. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>

const char *pyext_greeting(void);

static void *worker(void *arg) {
	(void)arg;
	pthread_exit((void *)42);
}

int pyfake_main(int pyvers, const char *script) {
	pthread_t t;
	void *ret;
	volatile double x = 27.0;
	pthread_create(&t, NULL, worker, NULL);
	pthread_join(t, &ret);
	printf("Python %d.%d stand-in ran %s: cbrt(27) = %g, %s, thread exit %ld\n",
	       pyvers / 100, pyvers % 100, script, cbrt(x), pyext_greeting(), (long)ret);
	return 0;
}
