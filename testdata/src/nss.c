/* nss: resolves "localhost" with getaddrinfo and looks up the user and group
 * "root" with getpwnam and getgrnam, the lookups that glibc routes through
 * NSS (/etc/nsswitch.conf, /etc/hosts, /etc/passwd, /etc/group). Exits 1, 2
 * or 3 with glibc's own error text when a lookup fails. */
#include <arpa/inet.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(void) {
	struct addrinfo hints, *res;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	int rc = getaddrinfo("localhost", NULL, &hints, &res);
	if (rc != 0) {
		printf("getaddrinfo localhost: %s\n", gai_strerror(rc));
		return 1;
	}
	char addr[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, addr, sizeof addr);
	printf("localhost is %s\n", addr);
	freeaddrinfo(res);
	struct passwd *pw = getpwnam("root");
	if (pw == NULL) {
		printf("getpwnam root: no such user\n");
		return 2;
	}
	printf("user root has uid %d\n", (int)pw->pw_uid);
	struct group *gr = getgrnam("root");
	if (gr == NULL) {
		printf("getgrnam root: no such group\n");
		return 3;
	}
	printf("group root has gid %d\n", (int)gr->gr_gid);
	return 0;
}
