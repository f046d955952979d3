// strict exercises wasmrun's strict WASI mode (--strict-wasi, runtime.Options.StrictWASI) end to
// end through wasi-libc: several preopens, paths that leave a preopen (".." and symlinks),
// absolute paths and symlink targets, and rights dropped with fd_fdstat_set_rights.
//
//	usage: strict A B     A and B: the guest paths of the first two preopens, in order
//
// Each check prints "PASS name" or "FAIL name: detail"; the program ends with
// "RESULT: PASS n checks" (status 0) or "RESULT: FAIL k of n checks" (status 1). The same
// assertions as the WebAssembly wasi-testsuite's preview1 tests on these points (preopens by
// name, ENOTCAPABLE for escapes and for missing rights), written for wasmrun.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static int checks, failures;

static void check(int ok, const char *name, const char *detail) {
	checks++;
	if (ok) {
		printf("PASS %s\n", name);
	} else {
		failures++;
		printf("FAIL %s: %s\n", name, detail);
	}
}

// checkErr checks that ret is -1 with errno want.
static void checkErr(int ret, int want, const char *name) {
	char detail[128];
	int got = errno;
	snprintf(detail, sizeof detail, "returned %d, errno %d (%s), want errno %d (%s)", ret, got,
		 strerror(got), want, strerror(want));
	check(ret == -1 && got == want, name, detail);
}

// checkWasi checks that a raw WASI call returned want.
static void checkWasi(__wasi_errno_t got, __wasi_errno_t want, const char *name) {
	char detail[64];
	snprintf(detail, sizeof detail, "errno %d, want %d", got, want);
	check(got == want, name, detail);
}

// rawWrite and rawRead call fd_write and fd_read themselves: wasi-libc's write(2) and read(2)
// report the host's ENOTCAPABLE as EBADF, as POSIX would for an fd not open for it.
static __wasi_errno_t rawWrite(int fd) {
	__wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
	__wasi_size_t n;
	return __wasi_fd_write(fd, &iov, 1, &n);
}

static __wasi_errno_t rawRead(int fd) {
	static uint8_t b[4];
	__wasi_iovec_t iov = {b, sizeof b};
	__wasi_size_t n;
	return __wasi_fd_read(fd, &iov, 1, &n);
}

static char *path(const char *dir, const char *rest) {
	static char buf[4][512];
	static int i;
	char *b = buf[i++ % 4];
	snprintf(b, 512, "%s/%s", dir, rest);
	return b;
}

static int writeFile(const char *p, const char *data) {
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	int n = write(fd, data, strlen(data));
	close(fd);
	return n == (int)strlen(data) ? 0 : -1;
}

static int readFile(const char *p, char *buf, int size) {
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	int n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3) {
		fprintf(stderr, "usage: strict A B\n");
		return 2;
	}
	const char *a = argv[1], *b = argv[2];
	char buf[512], detail[600];

	// The preopens: exactly the two directories, in order from fd 3, named by guest path.
	const char *want[] = {a, b};
	for (int fd = 3; fd < 5; fd++) {
		__wasi_prestat_t ps;
		__wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
		char name[256] = {0};
		if (e == 0 && ps.u.dir.pr_name_len < sizeof name)
			e = __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len);
		snprintf(detail, sizeof detail, "fd %d: errno %d, name %s, want %s", fd, e, name, want[fd - 3]);
		check(e == 0 && strcmp(name, want[fd - 3]) == 0, fd == 3 ? "preopen fd 3" : "preopen fd 4", detail);
	}
	__wasi_prestat_t ps;
	checkWasi(__wasi_fd_prestat_get(5, &ps), __WASI_ERRNO_BADF, "no third preopen");

	// Files in both preopens, through wasi-libc's preopen lookup.
	check(writeFile(path(a, "f.txt"), "in a") == 0, "write a/f.txt", strerror(errno));
	check(writeFile(path(b, "g.txt"), "in b") == 0, "write b/g.txt", strerror(errno));
	int n = readFile(path(b, "g.txt"), buf, sizeof buf);
	check(n == 4 && strcmp(buf, "in b") == 0, "read b/g.txt", buf);
	check(mkdir(path(a, "sub"), 0755) == 0, "mkdir a/sub", strerror(errno));

	// Leaving a preopen: ".." (even back into the other preopen, even one that comes back).
	checkErr(open(path(a, "../g.txt"), O_RDONLY), ENOTCAPABLE, "open a/..");
	snprintf(buf, sizeof buf, "sub/../../%s/g.txt", b[0] == '/' ? b + 1 : b);
	checkErr(open(path(a, buf), O_RDONLY), ENOTCAPABLE, "open a/sub/../../b/g.txt");
	struct stat st;
	checkErr(stat(path(a, ".."), &st), ENOTCAPABLE, "stat a/..");
	checkErr(mkdir(path(a, "../d"), 0755), ENOTCAPABLE, "mkdir a/../d");
	checkErr(unlink(path(a, "sub/../../f.txt")), ENOTCAPABLE, "unlink a/sub/../../f.txt");
	checkErr(rename(path(a, "f.txt"), path(a, "../f.txt")), ENOTCAPABLE, "rename to a/../f.txt");
	check(stat(path(a, "sub/../f.txt"), &st) == 0 && st.st_size == 4, "stat a/sub/../f.txt stays inside",
	      strerror(errno));

	// An absolute path handed to the host (wasi-libc strips the leading slash itself).
	__wasi_fd_t nfd;
	checkWasi(__wasi_path_open(3, 0, "/f.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &nfd),
		  __WASI_ERRNO_NOTCAPABLE, "path_open of an absolute path");

	// Symlinks: an absolute target cannot be made; a relative one leading out cannot be followed.
	checkErr(symlink("/etc/passwd", path(a, "abs")), ENOTCAPABLE, "symlink with an absolute target");
	check(symlink("..", path(a, "up")) == 0, "symlink a/up -> ..", strerror(errno));
	checkErr(open(path(a, "up/f.txt"), O_RDONLY), ENOTCAPABLE, "open through a/up");
	n = readlink(path(a, "up"), buf, sizeof buf - 1);
	check(n == 2 && strncmp(buf, "..", 2) == 0, "readlink a/up", strerror(errno));
	check(symlink("sub", path(a, "in")) == 0 && stat(path(a, "in"), &st) == 0 && S_ISDIR(st.st_mode),
	      "a symlink inside is followed", strerror(errno));

	// Rights: a read-only fd cannot write, cannot get FD_WRITE back, and loses reads once
	// FD_READ is dropped.
	int fd = open(path(a, "f.txt"), O_RDONLY);
	check(fd >= 0, "open a/f.txt read-only", strerror(errno));
	checkWasi(rawWrite(fd), __WASI_ERRNO_NOTCAPABLE, "fd_write without FD_WRITE");
	checkErr(write(fd, "x", 1), EBADF, "write(2) without FD_WRITE");
	__wasi_fdstat_t fst;
	check(__wasi_fd_fdstat_get(fd, &fst) == 0 && (fst.fs_rights_base & __WASI_RIGHTS_FD_WRITE) == 0,
	      "fdstat shows no FD_WRITE", "");
	checkWasi(__wasi_fd_fdstat_set_rights(fd, fst.fs_rights_base | __WASI_RIGHTS_FD_WRITE, 0),
		  __WASI_ERRNO_NOTCAPABLE, "rights cannot be raised");
	checkWasi(__wasi_fd_fdstat_set_rights(fd, fst.fs_rights_base & ~__WASI_RIGHTS_FD_READ, 0), 0,
		  "drop FD_READ");
	checkWasi(rawRead(fd), __WASI_ERRNO_NOTCAPABLE, "fd_read without FD_READ");
	close(fd);

	// A directory's rights: without PATH_FILESTAT_SET_SIZE, O_TRUNC is refused; without
	// FD_WRITE in its inheriting rights, no new fd can write; without PATH_CREATE_DIRECTORY, no
	// mkdir. The other preopen keeps its rights.
	__wasi_fdstat_t dst;
	check(__wasi_fd_fdstat_get(3, &dst) == 0, "fdstat of fd 3", "");
	checkWasi(__wasi_fd_fdstat_set_rights(3,
					      dst.fs_rights_base & ~(__WASI_RIGHTS_PATH_FILESTAT_SET_SIZE |
								    __WASI_RIGHTS_PATH_CREATE_DIRECTORY),
					      dst.fs_rights_inheriting & ~__WASI_RIGHTS_FD_WRITE),
		  0, "drop rights of fd 3");
	checkErr(open(path(a, "f.txt"), O_WRONLY | O_TRUNC), ENOTCAPABLE, "O_TRUNC without PATH_FILESTAT_SET_SIZE");
	fd = open(path(a, "f.txt"), O_WRONLY);
	if (fd >= 0) {
		checkWasi(rawWrite(fd), __WASI_ERRNO_NOTCAPABLE, "write when FD_WRITE is not inherited");
		close(fd);
	} else {
		checkErr(fd, ENOTCAPABLE, "write when FD_WRITE is not inherited");
	}
	checkErr(mkdir(path(a, "d2"), 0755), ENOTCAPABLE, "mkdir without PATH_CREATE_DIRECTORY");
	check(mkdir(path(b, "d2"), 0755) == 0, "mkdir in the other preopen", strerror(errno));
	n = readFile(path(a, "f.txt"), buf, sizeof buf);
	check(n == 4 && strcmp(buf, "in a") == 0, "a/f.txt unchanged", buf);

	// sock_* on a file is ENOTSOCK.
	checkWasi(__wasi_sock_shutdown(3, __WASI_SDFLAGS_RD), __WASI_ERRNO_NOTSOCK, "sock_shutdown on a directory");

	if (failures) {
		printf("RESULT: FAIL %d of %d checks\n", failures, checks);
		return 1;
	}
	printf("RESULT: PASS %d checks\n", checks);
	return 0;
}
