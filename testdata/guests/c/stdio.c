// stdio copies standard input to standard output, upper-casing ASCII letters, and reports on
// standard error what it did.
//
//	usage: stdio [WORKDIR]
//
// WORKDIR is accepted for symmetry with the other guests and not used. It reads stdin to EOF in
// odd-sized chunks with read(2) (fd_read) and writes with write(2) (fd_write) so that short reads
// and many small writes are exercised, then writes one line to stderr:
//
//	stdio: N bytes, L lines
//
// The exit status is 0, or 1 if a read or write fails (with the reason on stderr).
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(void) {
	char buf[777];
	unsigned long long bytes = 0, lines = 0;
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "stdio: read stdin: %s\n", strerror(errno));
			return 1;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n')
				lines++;
			buf[i] = (char)toupper((unsigned char)buf[i]);
		}
		bytes += (unsigned long long)n;
		if (write_all(1, buf, (size_t)n) != 0) {
			fprintf(stderr, "stdio: write stdout: %s\n", strerror(errno));
			return 1;
		}
	}
	fprintf(stderr, "stdio: %llu bytes, %llu lines\n", bytes, lines);
	return 0;
}
