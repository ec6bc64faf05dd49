// getpwnam.c: looks up root in the user database (/etc/passwd) and exits 1 if it is not
// there, as programs that drop privileges or find a home directory do. On scratch without
// /etc/passwd it fails; pack --smoke must catch that.
#include <pwd.h>
#include <stdio.h>

int main(void) {
	struct passwd *pw = getpwnam("root");
	if (pw == NULL) {
		fprintf(stderr, "getpwnam(\"root\"): no such user (is /etc/passwd there?)\n");
		return 1;
	}
	printf("root has uid %d and home %s\n", (int)pw->pw_uid, pw->pw_dir);
	return 0;
}
