/* iconv: converts "€ 5" from ISO-8859-15 to UTF-8, which needs glibc's
 * ISO8859-15 gconv module; without it iconv_open fails with EINVAL. */
#include <iconv.h>
#include <stdio.h>
#include <string.h>

int main(void) {
	iconv_t cd = iconv_open("UTF-8", "ISO-8859-15");
	if (cd == (iconv_t)-1) {
		perror("iconv_open ISO-8859-15 to UTF-8");
		return 1;
	}
	char in[] = "\xa4 5", out[32];
	char *ip = in, *op = out;
	size_t il = strlen(in), ol = sizeof out - 1;
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
		perror("iconv");
		return 2;
	}
	*op = '\0';
	printf("%s\n", out);
	iconv_close(cd);
	return 0;
}
