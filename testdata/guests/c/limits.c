// limits runs into one of wasmrun's limits and reports where and with which errno; the
// runtime's limit tests (runtime/limits_test.go) and the CLI's (cmd/run/crash_test.go) check
// the numbers exactly.
//
//	usage: limits fill FILE      write FILE in 64 KiB chunks until a write fails
//	                             prints "bytes=N errno=E" (N bytes written, E the errno)
//	       limits inodes DIR     create empty files DIR/fN until one fails: "count=N errno=E"
//	       limits fds FILE       open FILE again and again, keeping every fd: "count=N errno=E"
//	       limits mem            malloc 1 MiB blocks (touching them) until malloc fails:
//	                             "mib=N pages=P", P the linear memory's size in 64 KiB pages
//	       limits sync DIR       forever: write DIR/rN (4 KiB), fsync it, print "SYNCED N"
//
// Byte k of a file written by fill or sync is k % 251, so the tests can check the content.
// The errno values are wasi-libc's, which are the WASI errno numbers.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char chunk[64 << 10];

static void pattern(unsigned char *p, size_t n, long long off) {
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((off + (long long)i) % 251);
}

static int fill(const char *path) {
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0) {
		printf("bytes=0 errno=%d\n", errno);
		return 0;
	}
	long long off = 0;
	for (;;) {
		pattern(chunk, sizeof chunk, off);
		ssize_t n = write(fd, chunk, sizeof chunk);
		if (n < 0) {
			printf("bytes=%lld errno=%d\n", off, errno);
			break;
		}
		off += n; // a short write is followed by the write that fails
	}
	close(fd);
	return 0;
}

static int inodes(const char *dir) {
	char path[4096];
	for (long n = 0;; n++) {
		snprintf(path, sizeof path, "%s/f%ld", dir, n);
		int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644);
		if (fd < 0) {
			printf("count=%ld errno=%d\n", n, errno);
			return 0;
		}
		close(fd);
	}
}

static int fds(const char *path) {
	for (long n = 0;; n++) {
		if (open(path, O_RDONLY) < 0) {
			printf("count=%ld errno=%d\n", n, errno);
			return 0;
		}
	}
}

// blocks keeps every block mem allocates, so that the compiler cannot elide the allocations.
static unsigned char *volatile blocks[1 << 12];

static int mem(void) {
	long mib = 0;
	for (; mib < (long)(sizeof blocks / sizeof blocks[0]); mib++) {
		unsigned char *p = malloc(1 << 20);
		if (p == NULL)
			break;
		memset(p, 1, 1 << 20);
		blocks[mib] = p;
	}
	printf("mib=%ld pages=%lu\n", mib, (unsigned long)__builtin_wasm_memory_size(0));
	return 0;
}

static int syncloop(const char *dir) {
	char path[4096];
	unsigned char buf[4096];
	pattern(buf, sizeof buf, 0);
	for (long n = 0;; n++) {
		snprintf(path, sizeof path, "%s/r%ld", dir, n);
		int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, sizeof buf) != sizeof buf || fsync(fd) != 0) {
			printf("FAILED %ld errno=%d\n", n, errno);
			return 1;
		}
		close(fd);
		printf("SYNCED %ld\n", n);
	}
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 3 && strcmp(argv[1], "fill") == 0)
		return fill(argv[2]);
	if (argc == 3 && strcmp(argv[1], "inodes") == 0)
		return inodes(argv[2]);
	if (argc == 3 && strcmp(argv[1], "fds") == 0)
		return fds(argv[2]);
	if (argc == 2 && strcmp(argv[1], "mem") == 0)
		return mem();
	if (argc == 3 && strcmp(argv[1], "sync") == 0)
		return syncloop(argv[2]);
	fprintf(stderr, "usage: limits fill FILE | inodes DIR | fds FILE | mem | sync DIR\n");
	return 2;
}
