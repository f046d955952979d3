// allcalls calls every fd_* and path_* import of wasi_snapshot_preview1 directly (through
// wasi-libc's <wasi/api.h> bindings), then does the same work through libc, and prints one line
// per call: the function, the errno, and what it returned. wasi's TestCGuest compares the output
// with the transcript it expects. Run it with the namespace root as its only preopen (fd 3).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

#define R(name, call) printf("%s %d\n", name, (int)(call))

static __wasi_rights_t all = (__wasi_rights_t)0x3fffffff;

int main(void) {
	__wasi_errno_t e;
	__wasi_fd_t fd, dir;
	__wasi_size_t n;
	__wasi_filesize_t pos;
	__wasi_prestat_t ps;
	__wasi_fdstat_t fs;
	__wasi_filestat_t st;
	char buf[256];

	e = __wasi_fd_prestat_get(3, &ps);
	printf("fd_prestat_get %d tag=%d len=%d\n", e, ps.tag, (int)ps.u.dir.pr_name_len);
	memset(buf, 0, sizeof buf);
	e = __wasi_fd_prestat_dir_name(3, (uint8_t *)buf, sizeof buf);
	printf("fd_prestat_dir_name %d %s\n", e, buf);
	R("path_create_directory", __wasi_path_create_directory(3, "work"));
	e = __wasi_path_open(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "work/a.txt",
	                     __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, all, all, 0, &fd);
	printf("path_open %d fd=%d\n", e, fd);
	__wasi_ciovec_t civ[2] = {{(const uint8_t *)"hello ", 6}, {(const uint8_t *)"world", 5}};
	e = __wasi_fd_write(fd, civ, 2, &n);
	printf("fd_write %d n=%d\n", e, n);
	e = __wasi_fd_tell(fd, &pos);
	printf("fd_tell %d pos=%d\n", e, (int)pos);
	e = __wasi_fd_seek(fd, -5, __WASI_WHENCE_END, &pos);
	printf("fd_seek %d pos=%d\n", e, (int)pos);
	memset(buf, 0, sizeof buf);
	__wasi_iovec_t iv = {(uint8_t *)buf, sizeof buf};
	e = __wasi_fd_read(fd, &iv, 1, &n);
	printf("fd_read %d n=%d %s\n", e, n, buf);
	civ[0].buf = (const uint8_t *)"J";
	civ[0].buf_len = 1;
	e = __wasi_fd_pwrite(fd, civ, 1, 0, &n);
	printf("fd_pwrite %d n=%d\n", e, n);
	memset(buf, 0, sizeof buf);
	e = __wasi_fd_pread(fd, &iv, 1, 0, &n);
	printf("fd_pread %d n=%d %s\n", e, n, buf);
	R("fd_advise", __wasi_fd_advise(fd, 0, 11, __WASI_ADVICE_SEQUENTIAL));
	R("fd_allocate", __wasi_fd_allocate(fd, 0, 100));
	R("fd_filestat_set_size", __wasi_fd_filestat_set_size(fd, 50));
	R("fd_filestat_set_times", __wasi_fd_filestat_set_times(fd, 1000, 2000, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
	e = __wasi_fd_filestat_get(fd, &st);
	printf("fd_filestat_get %d type=%d size=%d nlink=%d atim=%d mtim=%d\n", e, st.filetype, (int)st.size,
	       (int)st.nlink, (int)st.atim, (int)st.mtim);
	R("fd_fdstat_set_flags", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND));
	e = __wasi_fd_fdstat_get(fd, &fs);
	printf("fd_fdstat_get %d type=%d flags=%d seek=%d\n", e, fs.fs_filetype, fs.fs_flags,
	       (fs.fs_rights_base & __WASI_RIGHTS_FD_SEEK) != 0);
	R("fd_fdstat_set_rights", __wasi_fd_fdstat_set_rights(fd, fs.fs_rights_base & ~__WASI_RIGHTS_FD_SEEK, 0));
	e = __wasi_fd_fdstat_get(fd, &fs);
	printf("fd_fdstat_get %d seek=%d\n", e, (fs.fs_rights_base & __WASI_RIGHTS_FD_SEEK) != 0);
	e = __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos);
	printf("fd_seek %d (rights other than read and write are not enforced)\n", e);
	R("fd_fdstat_set_rights", __wasi_fd_fdstat_set_rights(fd, fs.fs_rights_base & ~__WASI_RIGHTS_FD_WRITE, 0));
	e = __wasi_fd_write(fd, civ, 1, &n);
	printf("fd_write %d (fd_write dropped: EBADF)\n", e);
	R("fd_sync", __wasi_fd_sync(fd));
	R("fd_datasync", __wasi_fd_datasync(fd));
	R("path_symlink", __wasi_path_symlink("a.txt", 3, "work/link"));
	memset(buf, 0, sizeof buf);
	e = __wasi_path_readlink(3, "work/link", (uint8_t *)buf, sizeof buf, &n);
	printf("path_readlink %d n=%d %s\n", e, n, buf);
	R("path_link", __wasi_path_link(3, 0, "work/a.txt", 3, "work/hard"));
	e = __wasi_path_filestat_get(3, 0, "work/hard", &st);
	printf("path_filestat_get %d type=%d nlink=%d size=%d\n", e, st.filetype, (int)st.nlink, (int)st.size);
	e = __wasi_path_filestat_get(3, 0, "work/link", &st);
	printf("path_filestat_get %d type=%d\n", e, st.filetype);
	R("path_filestat_set_times", __wasi_path_filestat_set_times(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "work/link", 5, 6,
	                                                             __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
	e = __wasi_path_filestat_get(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "work/link", &st);
	printf("path_filestat_get %d type=%d mtim=%d\n", e, st.filetype, (int)st.mtim);
	R("path_rename", __wasi_path_rename(3, "work/hard", 3, "work/renamed"));
	R("path_unlink_file", __wasi_path_unlink_file(3, "work/renamed"));
	R("path_create_directory", __wasi_path_create_directory(3, "work/sub"));
	e = __wasi_path_open(3, 0, "work", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_OPEN, all, 0, &dir);
	printf("path_open %d dir=%d\n", e, dir);
	e = __wasi_fd_readdir(dir, (uint8_t *)buf, sizeof buf, 0, &n);
	printf("fd_readdir %d", e);
	for (size_t off = 0; off + sizeof(__wasi_dirent_t) <= n;) {
		__wasi_dirent_t d;
		memcpy(&d, buf + off, sizeof d);
		off += sizeof d;
		printf(" %.*s/%d", (int)d.d_namlen, buf + off, d.d_type);
		off += d.d_namlen;
	}
	printf("\n");
	R("fd_renumber", __wasi_fd_renumber(dir, fd));
	R("fd_close", __wasi_fd_close(fd));
	R("fd_close", __wasi_fd_close(dir));
	R("path_remove_directory", __wasi_path_remove_directory(3, "work/sub"));
	R("path_remove_directory", __wasi_path_remove_directory(3, "work"));

	// The same through libc.
	FILE *f = fopen("/work/b.txt", "w");
	fprintf(f, "line %d\n", 1);
	fclose(f);
	f = fopen("/work/b.txt", "a+");
	fprintf(f, "line %d\n", 2);
	fseek(f, 0, SEEK_SET);
	while (fgets(buf, sizeof buf, f)) printf("libc read %s", buf);
	fclose(f);
	struct stat sb;
	printf("libc stat %d size=%d dir=%d\n", stat("/work/b.txt", &sb), (int)sb.st_size, S_ISDIR(sb.st_mode));
	printf("libc rename %d\n", rename("/work/b.txt", "/work/c.txt"));
	printf("libc open missing %d errno=%s\n", open("/work/nope", O_RDONLY), strerror(errno));
	printf("libc mkdir exists %d errno=%s\n", mkdir("/work", 0755), strerror(errno));
	printf("libc rmdir nonempty %d errno=%s\n", rmdir("/work"), strerror(errno));
	DIR *d = opendir("/work");
	struct dirent *de;
	int count = 0;
	while ((de = readdir(d))) count++;
	closedir(d);
	printf("libc readdir %d entries\n", count);
	printf("libc chdir %d\n", chdir("/work"));
	printf("libc relative unlink %d\n", unlink("c.txt") | unlink("a.txt") | unlink("link"));
	printf("libc rmdir %d\n", rmdir("/work"));
	struct timespec t0, t1, req = {0, 20 * 1000 * 1000};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nanosleep(&req, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("libc nanosleep slept>=20ms %d\n", ms >= 20);
	printf("libc isatty %d\n", isatty(1));
	fflush(stdout);
	exit(7);
}
