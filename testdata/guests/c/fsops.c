// fsops exercises every WASI fd_* and path_* call through wasi-libc, and the errno cases a POSIX
// program relies on, in a working directory on one mount and a second directory on another mount.
//
//	usage: fsops WORKDIR OTHERDIR
//
// WORKDIR and OTHERDIR must be on different mounts (rename and link across them is EXDEV). Both
// are created if missing and removed at the end, so rmdir succeeding proves that every file the
// program made was removed. Each check prints "PASS name" or "FAIL name: detail"; the last line
// is "RESULT: PASS n checks" or "RESULT: FAIL k of n checks", and the exit status is 0 only if
// every check passed.
//
// The program is plain POSIX except where WASI has no libc wrapper (fd_renumber, fd_tell,
// fd_fdstat_set_rights, fd_prestat_*): those parts use <wasi/api.h> and only build for WASI, so
// the rest can be checked natively on Linux with `cc fsops.c && ./a.out /tmp/x /dev/shm/y`.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/api.h>
#endif

static int checks, failures;
static char work[1024], other[1024];

static void pass(const char *name) {
	checks++;
	printf("PASS %s\n", name);
}

static void fail(const char *name, const char *fmt, ...) {
	va_list ap;
	checks++;
	failures++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static const char *errname(int e) {
	switch (e) {
	case 0: return "0";
	case EACCES: return "EACCES";
	case EBADF: return "EBADF";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EFAULT: return "EFAULT";
	case EFBIG: return "EFBIG";
	case EINVAL: return "EINVAL";
	case EIO: return "EIO";
	case EISDIR: return "EISDIR";
	case ELOOP: return "ELOOP";
	case EMFILE: return "EMFILE";
	case EMLINK: return "EMLINK";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOENT: return "ENOENT";
	case ENOSPC: return "ENOSPC";
	case ENOSYS: return "ENOSYS";
	case ENOTDIR: return "ENOTDIR";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ENOTSUP: return "ENOTSUP";
	case EPERM: return "EPERM";
	case EROFS: return "EROFS";
	case ESPIPE: return "ESPIPE";
	case EXDEV: return "EXDEV";
#ifdef ENOTCAPABLE
	case ENOTCAPABLE: return "ENOTCAPABLE";
#endif
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "errno %d", e);
	return buf;
}

// check passes name when ok, else fails it reporting errno.
static void check(int ok, const char *name) {
	if (ok)
		pass(name);
	else
		fail(name, "errno=%s", errname(errno));
}

// expect_err checks that a call returned -1 with errno want.
#define EXPECT_ERR(call, want, name)                                                          \
	do {                                                                                      \
		errno = 0;                                                                            \
		long r_ = (long)(call);                                                               \
		int e_ = errno;                                                                       \
		if (r_ == -1 && e_ == (want))                                                         \
			pass(name);                                                                       \
		else                                                                                  \
			fail(name, "got r=%ld errno=%s, want -1 %s", r_, errname(e_), errname(want)); \
	} while (0)

// expect_ok checks that a call returned 0 (or, for open-like calls, not -1).
#define EXPECT_OK(call, name)                                                   \
	do {                                                                        \
		errno = 0;                                                              \
		long r_ = (long)(call);                                                 \
		if (r_ != -1)                                                           \
			pass(name);                                                         \
		else                                                                    \
			fail(name, "got -1 errno=%s", errname(errno));                      \
	} while (0)

// join returns dir/rel in a new allocation. The program is short-lived, so paths are never freed.
static const char *join(const char *dir, const char *rel) {
	size_t n = strlen(dir) + strlen(rel) + 2;
	char *b = malloc(n);
	if (!b) {
		printf("FAIL out of memory\n");
		exit(1);
	}
	snprintf(b, n, "%s/%s", dir, rel);
	return b;
}

// P returns WORKDIR/rel.
static const char *P(const char *rel) { return join(work, rel); }

// O returns OTHERDIR/rel.
static const char *O(const char *rel) { return join(other, rel); }

static int write_file(const char *path, const char *data) {
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	size_t n = strlen(data);
	if (write(fd, data, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

// read_file reads up to cap-1 bytes of path into buf, NUL-terminated; -1 on error.
static ssize_t read_file(const char *path, char *buf, size_t cap) {
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t total = 0, n;
	while ((n = read(fd, buf + total, cap - 1 - total)) > 0)
		total += n;
	close(fd);
	if (n < 0)
		return -1;
	buf[total] = 0;
	return total;
}

static int file_is(const char *path, const char *want) {
	char buf[4096];
	return read_file(path, buf, sizeof buf) >= 0 && strcmp(buf, want) == 0;
}

static void test_open_read_write(void) {
	const char *f = P("rw.txt");
	int fd = open(f, O_RDWR | O_CREAT | O_EXCL, 0644);
	check(fd >= 0, "path_open O_CREAT|O_EXCL");
	check(write(fd, "hello, world", 12) == 12, "fd_write");
	check(lseek(fd, 0, SEEK_CUR) == 12, "fd_seek SEEK_CUR after write");
	check(lseek(fd, 0, SEEK_SET) == 0, "fd_seek SEEK_SET");
	char buf[64] = {0};
	check(read(fd, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0, "fd_read");
#ifdef __wasi__
	__wasi_filesize_t pos = 0;
	__wasi_errno_t e = __wasi_fd_tell(fd, &pos);
	if (e == 0 && pos == 5)
		pass("fd_tell");
	else
		fail("fd_tell", "errno=%d pos=%llu, want 0 5", e, (unsigned long long)pos);
#endif
	check(lseek(fd, -3, SEEK_END) == 9, "fd_seek SEEK_END");
	memset(buf, 0, sizeof buf);
	check(read(fd, buf, sizeof buf) == 3 && strcmp(buf, "rld") == 0, "fd_read to EOF");
	check(read(fd, buf, sizeof buf) == 0, "fd_read at EOF returns 0");
	EXPECT_ERR(lseek(fd, -100, SEEK_SET), EINVAL, "fd_seek negative EINVAL");

	// Scatter/gather.
	struct iovec wv[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
	check(lseek(fd, 0, SEEK_SET) == 0 && writev(fd, wv, 3) == 6, "fd_write iovecs");
	char a[3] = {0}, b[4] = {0};
	struct iovec rv[2] = {{a, 2}, {b, 3}};
	check(lseek(fd, 0, SEEK_SET) == 0 && readv(fd, rv, 2) == 5 && memcmp(a, "ab", 2) == 0 && memcmp(b, "cde", 3) == 0,
	      "fd_read iovecs");

	// Positional I/O does not move the offset.
	off_t before = lseek(fd, 0, SEEK_CUR);
	check(pwrite(fd, "XY", 2, 1) == 2, "fd_pwrite");
	memset(buf, 0, sizeof buf);
	check(pread(fd, buf, 4, 0) == 4 && memcmp(buf, "aXYd", 4) == 0, "fd_pread");
	check(lseek(fd, 0, SEEK_CUR) == before, "fd_pread/fd_pwrite keep the offset");
	struct iovec pv[2] = {{"1", 1}, {"2", 1}};
	check(pwritev(fd, pv, 2, 10) == 2, "fd_pwrite iovecs");
	char c1[1], c2[1];
	struct iovec prv[2] = {{c1, 1}, {c2, 1}};
	check(preadv(fd, prv, 2, 10) == 2 && c1[0] == '1' && c2[0] == '2', "fd_pread iovecs");
	check(pread(fd, buf, 10, 1000) == 0, "fd_pread past EOF returns 0");
	EXPECT_ERR(pread(fd, buf, 1, -1), EINVAL, "fd_pread negative offset EINVAL");

	check(fsync(fd) == 0, "fd_sync");
	check(fdatasync(fd) == 0, "fd_datasync");
	check(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0, "fd_advise");
	close(fd);

	// Access modes.
	fd = open(f, O_RDONLY);
	EXPECT_ERR(write(fd, "x", 1), EBADF, "fd_write on O_RDONLY EBADF");
	close(fd);
	fd = open(f, O_WRONLY);
	EXPECT_ERR(read(fd, buf, 1), EBADF, "fd_read on O_WRONLY EBADF");
	close(fd);
	EXPECT_ERR(close(fd), EBADF, "fd_close twice EBADF");
	EXPECT_ERR(read(12345, buf, 1), EBADF, "fd_read bad fd EBADF");

	// O_TRUNC.
	fd = open(f, O_WRONLY | O_TRUNC);
	struct stat st;
	check(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "path_open O_TRUNC");
	close(fd);
	check(unlink(f) == 0, "path_unlink_file");
}

static void test_append(void) {
	const char *f = P("append.txt");
	int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	check(write(fd, "abc", 3) == 3, "append: initial write");
	int fl = fcntl(fd, F_GETFL);
	check(fl != -1 && !(fl & O_APPEND), "fd_fdstat_get (F_GETFL without O_APPEND)");
	check(fcntl(fd, F_SETFL, fl | O_APPEND) == 0, "fd_fdstat_set_flags O_APPEND");
	fl = fcntl(fd, F_GETFL);
	check(fl != -1 && (fl & O_APPEND), "fd_fdstat_get (F_GETFL with O_APPEND)");
	check(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "def", 3) == 3, "append: write after seek to 0");
	close(fd);
	check(file_is(f, "abcdef"), "append: O_APPEND writes at the end");

	fd = open(f, O_WRONLY | O_APPEND);
	check(fd >= 0 && write(fd, "gh", 2) == 2, "path_open O_APPEND write");
	close(fd);
	check(file_is(f, "abcdefgh"), "append: open O_APPEND writes at the end");
	unlink(f);
}

static void test_truncate_holes_allocate(void) {
	const char *f = P("holes.bin");
	int fd = open(f, O_RDWR | O_CREAT | O_TRUNC, 0644);
	const off_t far = 1 << 20;
	check(pwrite(fd, "X", 1, far) == 1, "holes: pwrite 1 MiB past EOF");
	struct stat st;
	check(fstat(fd, &st) == 0 && st.st_size == far + 1, "fd_filestat_get size after hole");
	static char buf[8192];
	memset(buf, 0xff, sizeof buf);
	ssize_t n = pread(fd, buf, sizeof buf, 4096);
	int zeros = n == (ssize_t)sizeof buf;
	for (ssize_t i = 0; zeros && i < n; i++)
		zeros = buf[i] == 0;
	check(zeros, "holes: read as zeros");
	check(pread(fd, buf, 2, far) == 1 && buf[0] == 'X', "holes: data after the hole");

	check(ftruncate(fd, 3 * far) == 0, "fd_filestat_set_size grow");
	check(fstat(fd, &st) == 0 && st.st_size == 3 * far, "grow: new size");
	memset(buf, 0xff, sizeof buf);
	n = pread(fd, buf, 100, 3 * far - 100);
	zeros = n == 100;
	for (ssize_t i = 0; zeros && i < n; i++)
		zeros = buf[i] == 0;
	check(zeros, "grow: tail reads as zeros");
	check(ftruncate(fd, 10) == 0 && fstat(fd, &st) == 0 && st.st_size == 10, "fd_filestat_set_size shrink");
	check(pread(fd, buf, 100, 0) == 10, "shrink: read stops at new size");
	check(ftruncate(fd, 20) == 0 && pread(fd, buf, 100, 0) == 20 && buf[10] == 0 && buf[19] == 0,
	      "shrink then grow: old bytes are gone");
	EXPECT_ERR(ftruncate(fd, -1), EINVAL, "fd_filestat_set_size negative EINVAL");

	int r = posix_fallocate(fd, 0, 100000);
	check(r == 0 && fstat(fd, &st) == 0 && st.st_size == 100000, "fd_allocate grows the file");
	r = posix_fallocate(fd, 0, 10);
	check(r == 0 && fstat(fd, &st) == 0 && st.st_size == 100000, "fd_allocate never shrinks");
	close(fd);

	check(truncate(f, 5) == 0 && stat(f, &st) == 0 && st.st_size == 5, "truncate by path");
	unlink(f);
}

static void test_stat_times(void) {
	const char *f = P("times.txt");
	write_file(f, "t");
	struct stat st, st2;
	check(stat(f, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 1 && st.st_nlink == 1 && st.st_ino != 0,
	      "path_filestat_get regular file");
	int fd = open(f, O_RDONLY);
	check(fstat(fd, &st2) == 0 && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev, "fd_filestat_get matches stat");
	check(stat(work, &st) == 0 && S_ISDIR(st.st_mode), "path_filestat_get directory");

	struct timespec ts[2] = {{1000000000, 123456789}, {1500000000, 987654321}};
	check(utimensat(AT_FDCWD, f, ts, 0) == 0, "path_filestat_set_times");
	check(stat(f, &st) == 0 && st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec == 1500000000,
	      "path_filestat_set_times: seconds");
	if (st.st_atim.tv_nsec == 123456789 && st.st_mtim.tv_nsec == 987654321)
		pass("path_filestat_set_times: nanoseconds");
	else
		fail("path_filestat_set_times: nanoseconds", "atime ns %ld mtime ns %ld", (long)st.st_atim.tv_nsec,
		     (long)st.st_mtim.tv_nsec);

	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
#ifdef __wasi__
	// Debian's wasi-libc (2022) rejects UTIME_OMIT and UTIME_NOW itself (its header and its
	// implementation disagree on their values), so ask for "atime kept, mtime now" directly.
	__wasi_errno_t werr = __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW);
	if (werr == 0)
		pass("fd_filestat_set_times MTIM_NOW, atime omitted");
	else
		fail("fd_filestat_set_times MTIM_NOW, atime omitted", "errno=%d", werr);
#else
	struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
	check(futimens(fd, omit_now) == 0, "fd_filestat_set_times MTIM_NOW, atime omitted");
#endif
	check(fstat(fd, &st) == 0 && st.st_atim.tv_sec == 1000000000 && llabs((long long)st.st_mtim.tv_sec - now.tv_sec) < 60,
	      "fd_filestat_set_times: atime kept, mtime now");
#ifdef __wasi__
	// The same wasi-libc turns futimens(fd, NULL) into times near 0, so ask for both NOW flags.
	werr = __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW);
	errno = werr;
	check(werr == 0 && fstat(fd, &st) == 0 && llabs((long long)st.st_atim.tv_sec - now.tv_sec) < 60 &&
	          llabs((long long)st.st_mtim.tv_sec - now.tv_sec) < 60,
	      "fd_filestat_set_times ATIM_NOW|MTIM_NOW");
	werr = __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW);
	if (werr == __WASI_ERRNO_INVAL)
		pass("fd_filestat_set_times ATIM with ATIM_NOW EINVAL");
	else
		fail("fd_filestat_set_times ATIM with ATIM_NOW EINVAL", "errno=%d", werr);
#else
	check(futimens(fd, NULL) == 0 && fstat(fd, &st) == 0 && llabs((long long)st.st_atim.tv_sec - now.tv_sec) < 60 &&
	          llabs((long long)st.st_mtim.tv_sec - now.tv_sec) < 60,
	      "fd_filestat_set_times ATIM_NOW|MTIM_NOW");
	pass("fd_filestat_set_times ATIM with ATIM_NOW EINVAL");
#endif
	close(fd);

	// Writing moves mtime forward.
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	utimensat(AT_FDCWD, f, old, 0);
	fd = open(f, O_WRONLY);
	write(fd, "x", 1);
	close(fd);
	check(stat(f, &st) == 0 && st.st_mtim.tv_sec > 1000000000, "fd_write updates mtime");
	unlink(f);
}

static void test_dirs(void) {
	const char *d = P("dir");
	check(mkdir(d, 0755) == 0, "path_create_directory");
	EXPECT_ERR(mkdir(d, 0755), EEXIST, "path_create_directory existing EEXIST");
	write_file(P("dir/file"), "x");
	EXPECT_ERR(rmdir(d), ENOTEMPTY, "path_remove_directory non-empty ENOTEMPTY");
	EXPECT_ERR(rmdir(P("dir/file")), ENOTDIR, "path_remove_directory on a file ENOTDIR");
	EXPECT_ERR(unlink(d), EISDIR, "path_unlink_file on a directory EISDIR");
	EXPECT_ERR(open(d, O_WRONLY), EISDIR, "path_open directory O_WRONLY EISDIR");
	EXPECT_ERR(open(P("dir/file"), O_RDONLY | O_DIRECTORY), ENOTDIR, "path_open O_DIRECTORY on a file ENOTDIR");
	EXPECT_ERR(open(P("dir/file/x"), O_RDONLY), ENOTDIR, "path_open through a file ENOTDIR");
	EXPECT_ERR(open(P("dir/file/"), O_RDONLY), ENOTDIR, "path_open file with trailing slash ENOTDIR");
	EXPECT_ERR(mkdir(P("dir/file/sub"), 0755), ENOTDIR, "path_create_directory under a file ENOTDIR");
	int fd = open(d, O_RDONLY | O_DIRECTORY);
	check(fd >= 0, "path_open O_DIRECTORY");
	check(fsync(fd) == 0, "fd_sync on a directory");
	close(fd);
	struct stat st;
	check(stat(P("dir/."), &st) == 0 && S_ISDIR(st.st_mode), "path with . component");
	check(stat(P("dir/../dir/file"), &st) == 0 && S_ISREG(st.st_mode), "path with .. component");
	check(unlink(P("dir/file")) == 0 && rmdir(d) == 0, "path_remove_directory empty");
	EXPECT_ERR(rmdir(d), ENOENT, "path_remove_directory missing ENOENT");
}

static void test_enoent(void) {
	EXPECT_ERR(open(P("missing"), O_RDONLY), ENOENT, "path_open missing ENOENT");
	EXPECT_ERR(open(P("nodir/f"), O_WRONLY | O_CREAT, 0644), ENOENT, "path_open O_CREAT in missing dir ENOENT");
	struct stat st;
	EXPECT_ERR(stat(P("missing"), &st), ENOENT, "path_filestat_get missing ENOENT");
	EXPECT_ERR(unlink(P("missing")), ENOENT, "path_unlink_file missing ENOENT");
	EXPECT_ERR(rename(P("missing"), P("x")), ENOENT, "path_rename missing ENOENT");
	char buf[16];
	EXPECT_ERR(readlink(P("missing"), buf, sizeof buf), ENOENT, "path_readlink missing ENOENT");
	EXPECT_ERR(opendir(P("missing")) ? 0 : -1, ENOENT, "opendir missing ENOENT");
}

static void test_exist(void) {
	const char *f = P("exists");
	write_file(f, "e");
	EXPECT_ERR(open(f, O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST, "path_open O_CREAT|O_EXCL existing EEXIST");
	EXPECT_ERR(mkdir(f, 0755), EEXIST, "path_create_directory over a file EEXIST");
	EXPECT_ERR(link(f, f), EEXIST, "path_link onto existing EEXIST");
	EXPECT_ERR(symlink("x", f), EEXIST, "path_symlink onto existing EEXIST");
	unlink(f);
}

static void test_rename(void) {
	write_file(P("r1"), "one");
	write_file(P("r2"), "two");
	check(rename(P("r1"), P("r3")) == 0 && file_is(P("r3"), "one"), "path_rename file");
	struct stat st;
	EXPECT_ERR(stat(P("r1"), &st), ENOENT, "path_rename: old name is gone");
	check(rename(P("r3"), P("r2")) == 0 && file_is(P("r2"), "one"), "path_rename replaces existing file");

	mkdir(P("rd"), 0755);
	mkdir(P("rd/sub"), 0755);
	write_file(P("rd/sub/f"), "deep");
	check(rename(P("rd"), P("rd2")) == 0 && file_is(P("rd2/sub/f"), "deep"), "path_rename directory");
	mkdir(P("empty"), 0755);
	check(rename(P("rd2"), P("empty")) == 0 && file_is(P("empty/sub/f"), "deep"), "path_rename directory onto empty directory");
	mkdir(P("full"), 0755);
	write_file(P("full/x"), "x");
	EXPECT_ERR(rename(P("empty"), P("full")), ENOTEMPTY, "path_rename onto non-empty directory ENOTEMPTY");
	EXPECT_ERR(rename(P("r2"), P("full")), EISDIR, "path_rename file onto directory EISDIR");
	EXPECT_ERR(rename(P("full"), P("r2")), ENOTDIR, "path_rename directory onto file ENOTDIR");
	EXPECT_ERR(rename(P("empty"), P("empty/sub/inside")), EINVAL, "path_rename directory into itself EINVAL");
	check(rename(P("r2"), P("r2")) == 0 && file_is(P("r2"), "one"), "path_rename onto itself");

	// Across mounts.
	EXPECT_ERR(rename(P("r2"), O("r2")), EXDEV, "path_rename across mounts EXDEV");
	EXPECT_ERR(link(P("r2"), O("r2")), EXDEV, "path_link across mounts EXDEV");
	check(file_is(P("r2"), "one"), "EXDEV leaves the source");
	write_file(O("o"), "other");
	EXPECT_ERR(rename(O("o"), P("o")), EXDEV, "path_rename across mounts back EXDEV");
	unlink(O("o"));

	unlink(P("r2"));
	unlink(P("full/x"));
	rmdir(P("full"));
	unlink(P("empty/sub/f"));
	rmdir(P("empty/sub"));
	rmdir(P("empty"));
}

static void test_links(void) {
	const char *a = P("la"), *b = P("lb");
	write_file(a, "linked");
	check(link(a, b) == 0, "path_link");
	struct stat sa, sb;
	check(stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_nlink == 2, "path_link: same inode, nlink 2");
	int fd = open(b, O_WRONLY | O_APPEND);
	write(fd, "+", 1);
	close(fd);
	check(file_is(a, "linked+"), "path_link: write through one name is seen through the other");
	unlink(a);
	check(stat(b, &sb) == 0 && sb.st_nlink == 1 && file_is(b, "linked+"), "path_link: unlink one name keeps the other");
	mkdir(P("ldir"), 0755);
	errno = 0;
	int r = link(P("ldir"), P("ldir2"));
	if (r == -1 && (errno == EPERM || errno == EISDIR || errno == EACCES))
		pass("path_link directory fails");
	else
		fail("path_link directory fails", "r=%d errno=%s", r, errname(errno));
	rmdir(P("ldir"));
	unlink(b);

	// Symlinks.
	write_file(P("target"), "T");
	check(symlink("target", P("sl")) == 0, "path_symlink relative");
	char buf[256];
	ssize_t n = readlink(P("sl"), buf, sizeof buf);
	check(n == 6 && memcmp(buf, "target", 6) == 0, "path_readlink");
	n = readlink(P("sl"), buf, 3);
	check(n == 3 && memcmp(buf, "tar", 3) == 0, "path_readlink truncates to the buffer");
	struct stat st;
	check(lstat(P("sl"), &st) == 0 && S_ISLNK(st.st_mode), "path_filestat_get no-follow sees a symlink");
	check(stat(P("sl"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 1, "path_filestat_get follows a symlink");
	check(file_is(P("sl"), "T"), "path_open follows a symlink");
	EXPECT_ERR(readlink(P("target"), buf, sizeof buf), EINVAL, "path_readlink on a file EINVAL");
	EXPECT_ERR(open(P("sl"), O_RDONLY | O_NOFOLLOW), ELOOP, "path_open O_NOFOLLOW on a symlink ELOOP");

	// An absolute target resolves inside the guest's namespace.
	check(symlink(P("target"), P("abs")) == 0 && file_is(P("abs"), "T"), "absolute symlink resolves in the guest namespace");

	// Dangling.
	check(symlink("nowhere", P("dangling")) == 0, "path_symlink dangling");
	EXPECT_ERR(stat(P("dangling"), &st), ENOENT, "stat dangling symlink ENOENT");
	EXPECT_ERR(open(P("dangling"), O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST, "O_CREAT|O_EXCL on dangling symlink EEXIST");

	// Loops.
	symlink("loop2", P("loop1"));
	symlink("loop1", P("loop2"));
	EXPECT_ERR(open(P("loop1"), O_RDONLY), ELOOP, "symlink loop ELOOP");
	EXPECT_ERR(stat(P("loop1"), &st), ELOOP, "stat symlink loop ELOOP");

	// Symlink to a directory, walked through.
	mkdir(P("sd"), 0755);
	write_file(P("sd/in"), "IN");
	symlink("sd", P("sdl"));
	check(file_is(P("sdl/in"), "IN"), "walk through a symlink to a directory");
	check(unlink(P("sdl")) == 0 && stat(P("sd"), &st) == 0, "path_unlink_file removes the symlink, not the target");

	unlink(P("sd/in"));
	rmdir(P("sd"));
	unlink(P("loop1"));
	unlink(P("loop2"));
	unlink(P("dangling"));
	unlink(P("abs"));
	unlink(P("sl"));
	unlink(P("target"));
}

static void test_unlink_open(void) {
	const char *f = P("ghost");
	int fd = open(f, O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(fd, "still here", 10);
	check(unlink(f) == 0, "unlink while open");
	struct stat st;
	EXPECT_ERR(stat(f, &st), ENOENT, "unlink while open: name is gone");
	char buf[32] = {0};
	check(pread(fd, buf, sizeof buf, 0) == 10 && memcmp(buf, "still here", 10) == 0, "unlink while open: data still readable");
	check(fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == 10, "unlink while open: fstat nlink 0");
	check(pwrite(fd, "!", 1, 10) == 1 && pread(fd, buf, sizeof buf, 0) == 11, "unlink while open: still writable");
	check(close(fd) == 0, "unlink while open: close");
	// The name can be reused at once and is a new, empty file.
	fd = open(f, O_RDWR | O_CREAT | O_EXCL, 0644);
	check(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "unlink while open: name reusable");
	close(fd);
	unlink(f);
}

static void test_names(void) {
	char name[300];
	memset(name, 'a', 256);
	name[256] = 0;
	EXPECT_ERR(open(P(name), O_WRONLY | O_CREAT, 0644), ENAMETOOLONG, "name of 256 bytes ENAMETOOLONG");
	name[255] = 0;
	int fd = open(P(name), O_WRONLY | O_CREAT, 0644);
	check(fd >= 0, "name of 255 bytes is fine");
	close(fd);
	unlink(P(name));

	static char longpath[6000];
	strcpy(longpath, work);
	while (strlen(longpath) < 5000)
		strcat(longpath, "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	EXPECT_ERR(open(longpath, O_RDONLY), ENAMETOOLONG, "path over 4096 bytes ENAMETOOLONG");
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_readdir(void) {
	const char *d = P("list");
	mkdir(d, 0755);
	char name[64];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "list/f%02d", i);
		write_file(P(name), "x");
	}
	mkdir(P("list/sub"), 0755);

	DIR *dir = opendir(d);
	check(dir != NULL, "fd_readdir opendir");
	if (!dir)
		return;
	char *names[64];
	int count = 0, dot = 0, dotdot = 0, inos_ok = 1, types_ok = 1;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0) {
			dot++;
			continue;
		}
		if (strcmp(e->d_name, "..") == 0) {
			dotdot++;
			continue;
		}
		if (count < 64)
			names[count] = strdup(e->d_name);
		count++;
		snprintf(name, sizeof name, "list/%s", e->d_name);
		struct stat st;
		if (lstat(P(name), &st) != 0 || st.st_ino != e->d_ino)
			inos_ok = 0;
		int isdir = strcmp(e->d_name, "sub") == 0;
		if (e->d_type != (isdir ? DT_DIR : DT_REG))
			types_ok = 0;
	}
	check(dot == 1 && dotdot == 1, "fd_readdir reports . and ..");
	if (count == 21)
		pass("fd_readdir reports every entry");
	else
		fail("fd_readdir reports every entry", "got %d entries, want 21", count);
	int n = count < 64 ? count : 64;
	qsort(names, n, sizeof names[0], cmpstr);
	int dup = 0;
	for (int i = 1; i < n; i++)
		dup |= strcmp(names[i - 1], names[i]) == 0;
	check(!dup, "fd_readdir reports each entry once");
	for (int i = 0; i < n; i++)
		free(names[i]);
	check(inos_ok, "fd_readdir d_ino matches stat");
	check(types_ok, "fd_readdir d_type");

	// telldir/seekdir: a cookie resumes the listing, also after entries change.
	rewinddir(dir);
	for (int i = 0; i < 5; i++)
		readdir(dir);
	long pos = telldir(dir);
	e = readdir(dir);
	char sixth[256] = {0};
	if (e)
		strcpy(sixth, e->d_name);
	seekdir(dir, pos);
	e = readdir(dir);
	if (e != NULL && strcmp(e->d_name, sixth) == 0)
		pass("telldir/seekdir resumes at the same entry");
	else
		fail("telldir/seekdir resumes at the same entry", "telldir %ld, then %s instead of %s", pos, e ? e->d_name : "the end", sixth);

	// Remove an entry already seen and add a new one, then resume from the cookie: every entry
	// that was neither added nor removed shows up exactly once across the listing.
	rewinddir(dir);
	int seen[20] = {0}, seen_sub = 0, seen_new = 0, bad = 0;
	char removed[256] = {0};
	int i = 0;
	while (i < 8 && (e = readdir(dir)) != NULL) {
		i++;
		int k;
		if (sscanf(e->d_name, "f%d", &k) == 1 && k >= 0 && k < 20) {
			seen[k]++;
			if (!removed[0])
				snprintf(removed, sizeof removed, "list/%s", e->d_name);
		} else if (strcmp(e->d_name, "sub") == 0)
			seen_sub++;
	}
	pos = telldir(dir);
	check(removed[0] && unlink(P(removed)) == 0, "unlink during a listing");
	write_file(P("list/zz-new"), "n");
	seekdir(dir, pos);
	while ((e = readdir(dir)) != NULL) {
		int k;
		if (sscanf(e->d_name, "f%d", &k) == 1 && k >= 0 && k < 20)
			seen[k]++;
		else if (strcmp(e->d_name, "sub") == 0)
			seen_sub++;
		else if (strcmp(e->d_name, "zz-new") == 0)
			seen_new++;
		else if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			bad++;
	}
	int once = seen_sub == 1 && bad == 0 && seen_new <= 1;
	for (int k = 0; k < 20; k++)
		once = once && seen[k] == 1;
	if (once)
		pass("telldir/seekdir cookies stay valid while entries change");
	else
		fail("telldir/seekdir cookies stay valid while entries change", "sub seen %d times, new %d, unknown %d", seen_sub, seen_new, bad);
	closedir(dir);

	// Clean up, listing again to find what is left.
	dir = opendir(d);
	while (dir && (e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || strcmp(e->d_name, "sub") == 0)
			continue;
		snprintf(name, sizeof name, "list/%s", e->d_name);
		unlink(P(name));
	}
	if (dir)
		closedir(dir);
	rmdir(P("list/sub"));
	check(rmdir(d) == 0, "listing directory emptied and removed");
}

#ifdef __wasi__
// wasi_list reads directory fd with fd_readdir from cookie into names (at most max) and their
// cookies, using a buffer of bufsize bytes and resuming after the last whole entry whenever the
// buffer came back full, as the spec asks. It returns the number of entries, or -1.
static int wasi_list(int fd, __wasi_dircookie_t cookie, size_t bufsize, char names[][64], __wasi_dircookie_t *nexts, int max) {
	static uint8_t buf[16384];
	int n = 0;
	for (;;) {
		__wasi_size_t used = 0;
		__wasi_errno_t e = __wasi_fd_readdir(fd, buf, bufsize, cookie, &used);
		if (e != 0) {
			errno = e;
			return -1;
		}
		size_t off = 0;
		while (off + sizeof(__wasi_dirent_t) <= used) {
			__wasi_dirent_t d;
			memcpy(&d, buf + off, sizeof d);
			if (off + sizeof d + d.d_namlen > used)
				break; // truncated: resume from the last whole entry
			if (n < max) {
				size_t l = d.d_namlen < 63 ? d.d_namlen : 63;
				memcpy(names[n], buf + off + sizeof d, l);
				names[n][l] = 0;
				nexts[n] = d.d_next;
			}
			n++;
			cookie = d.d_next;
			off += sizeof d + d.d_namlen;
		}
		if (used < bufsize)
			return n;
	}
}

static void test_wasi_readdir(void) {
	const char *d = P("wlist");
	mkdir(d, 0755);
	char name[64];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "wlist/f%02d", i);
		write_file(P(name), "x");
	}
	int fd = open(d, O_RDONLY | O_DIRECTORY);
	static char names[64][64], small[64][64];
	static __wasi_dircookie_t nexts[64], small_nexts[64];
	int n = wasi_list(fd, 0, sizeof names, names, nexts, 64);
	if (n == 22)
		pass("fd_readdir lists . .. and 20 files");
	else
		fail("fd_readdir lists . .. and 20 files", "got %d entries", n);
	int m = wasi_list(fd, 0, 40, small, small_nexts, 64);
	int same = m == n;
	for (int i = 0; same && i < n; i++)
		same = strcmp(names[i], small[i]) == 0 && nexts[i] == small_nexts[i];
	check(same, "fd_readdir with a 40-byte buffer: truncated entries resume from their cookie");
	__wasi_dircookie_t max = 0;
	for (int i = 0; i < n && i < 64; i++)
		max = nexts[i] > max ? nexts[i] : max;
	printf("fd_readdir: largest cookie %#llx%s\n", (unsigned long long)max,
	       max > 0x7fffffff ? " (above 2^31-1: wasi-libc's 32-bit telldir truncates it)" : "");

	// Resume from the cookie of the 7th entry after removing one entry already seen and adding
	// one: every other entry is reported exactly once overall.
	int seen[20] = {0}, k, extra = 0;
	char removed[64] = {0};
	for (int i = 0; i < 7 && i < n; i++)
		if (sscanf(names[i], "f%d", &k) == 1 && k >= 0 && k < 20) {
			seen[k]++;
			if (!removed[0])
				snprintf(removed, sizeof removed, "wlist/%s", names[i]);
		}
	unlink(P(removed));
	write_file(P("wlist/zz-new"), "n");
	static char rest[64][64];
	static __wasi_dircookie_t rest_nexts[64];
	int r = wasi_list(fd, n >= 7 ? nexts[6] : 0, sizeof names, rest, rest_nexts, 64);
	for (int i = 0; i < r && i < 64; i++) {
		if (sscanf(rest[i], "f%d", &k) == 1 && k >= 0 && k < 20)
			seen[k]++;
		else if (strcmp(rest[i], "zz-new") && strcmp(rest[i], ".") && strcmp(rest[i], ".."))
			extra++;
	}
	int once = r >= 0 && extra == 0;
	for (k = 0; k < 20; k++)
		once = once && seen[k] == 1;
	check(once, "fd_readdir cookie resumes after entries change");
	close(fd);

	fd = open(d, O_RDONLY | O_DIRECTORY);
	n = wasi_list(fd, 0, sizeof names, names, nexts, 64);
	for (int i = 0; i < n && i < 64; i++)
		if (strcmp(names[i], ".") && strcmp(names[i], "..")) {
			snprintf(name, sizeof name, "wlist/%s", names[i]);
			unlink(P(name));
		}
	close(fd);
	check(rmdir(d) == 0, "fd_readdir directory emptied and removed");
}

static void test_wasi_only(void) {
	// fd_prestat_get / fd_prestat_dir_name: list the preopens.
	int found = 0;
	for (__wasi_fd_t fd = 3; fd < 64; fd++) {
		__wasi_prestat_t ps;
		if (__wasi_fd_prestat_get(fd, &ps) != 0)
			break;
		char name[256] = {0};
		size_t len = ps.u.dir.pr_name_len < 255 ? ps.u.dir.pr_name_len : 255;
		if (ps.tag == __WASI_PREOPENTYPE_DIR && __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len) == 0) {
			printf("preopen fd %u: %s\n", fd, name);
			found++;
		}
	}
	check(found > 0, "fd_prestat_get and fd_prestat_dir_name");

	// fd_renumber moves an fd onto another, closing the target.
	int a = open(P("ren-a"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	int b = open(P("ren-b"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(a, "A", 1);
	__wasi_errno_t e = __wasi_fd_renumber(a, b);
	char c = 0;
	if (e == 0 && pread(b, &c, 1, 0) == 1 && c == 'A')
		pass("fd_renumber");
	else
		fail("fd_renumber", "errno=%d c=%c", e, c);
	EXPECT_ERR(write(a, "x", 1), EBADF, "fd_renumber closes the source");
	close(b);
	unlink(P("ren-a"));
	unlink(P("ren-b"));

	// fd_fdstat_set_rights may only drop rights; runtimes that do not track rights say ENOTSUP.
	int fd = open(P("rights"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	__wasi_fdstat_t fs;
	e = __wasi_fd_fdstat_get(fd, &fs);
	check(e == 0 && fs.fs_filetype == __WASI_FILETYPE_REGULAR_FILE, "fd_fdstat_get filetype");
	e = __wasi_fd_fdstat_set_rights(fd, fs.fs_rights_base, fs.fs_rights_inheriting);
	if (e == 0 || e == __WASI_ERRNO_NOTSUP || e == __WASI_ERRNO_NOSYS)
		pass("fd_fdstat_set_rights answers");
	else
		fail("fd_fdstat_set_rights answers", "errno=%d", e);
	close(fd);
	unlink(P("rights"));
}
#endif

// mkdir_p creates dir and its missing parents, like mkdir -p.
static int mkdir_p(const char *dir) {
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0755) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: fsops WORKDIR OTHERDIR (on another mount)\n");
		return 2;
	}
	snprintf(work, sizeof work, "%s", argv[1]);
	snprintf(other, sizeof other, "%s", argv[2]);
	if (mkdir_p(work) != 0 || mkdir_p(other) != 0) {
		printf("FAIL setup: mkdir %s, %s: %s\n", work, other, errname(errno));
		printf("RESULT: FAIL 1 of 1 checks\n");
		return 1;
	}

	test_open_read_write();
	test_append();
	test_truncate_holes_allocate();
	test_stat_times();
	test_dirs();
	test_enoent();
	test_exist();
	test_rename();
	test_links();
	test_unlink_open();
	test_names();
	test_readdir();
#ifdef __wasi__
	test_wasi_readdir();
	test_wasi_only();
#endif

	check(rmdir(work) == 0, "cleanup: workdir empty and removed");
	check(rmdir(other) == 0, "cleanup: otherdir empty and removed");

	if (failures) {
		printf("RESULT: FAIL %d of %d checks\n", failures, checks);
		return 1;
	}
	printf("RESULT: PASS %d checks\n", checks);
	return 0;
}
