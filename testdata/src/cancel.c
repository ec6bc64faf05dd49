/* cancel: cancels a thread blocked in pause(). glibc unwinds the cancelled
 * thread with libgcc_s.so.1, which it loads with dlopen; without it the
 * program aborts with "libgcc_s.so.1 must be installed for pthread_cancel
 * to work". */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *wait_forever(void *arg) {
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(void) {
	pthread_t t;
	void *ret;
	if (pthread_create(&t, NULL, wait_forever, NULL) != 0)
		return 1;
	pthread_cancel(t);
	pthread_join(t, &ret);
	printf("thread cancelled: %s\n", ret == PTHREAD_CANCELED ? "yes" : "no");
	return ret == PTHREAD_CANCELED ? 0 : 2;
}
