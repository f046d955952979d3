// sys exercises the non-filesystem WASI calls: args, environ, clocks, random, poll_oneoff (sleep
// and fd readiness), sched_yield and proc_exit.
//
//	usage: sys WORKDIR [ARGS...] [exit CODE]
//
// It prints its arguments as "argv[i]=..." and its environment as "environ[i]=...", in order, so
// the caller can check them exactly, then runs its checks, each printing "PASS name" or
// "FAIL name: detail", and ends with "RESULT: PASS n checks" or "RESULT: FAIL k of n checks".
// If its last two arguments are "exit" and a number, it then exits with that status through
// exit(3) (proc_exit); otherwise the status is 0 when every check passed, else 1.
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

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

static int64_t ns(clockid_t id) {
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	int envc = 0;
	for (char **e = environ; e && *e; e++)
		printf("environ[%d]=%s\n", envc++, *e);
	printf("environc=%d\n", envc);
	char detail[128];

	// Clocks (clock_time_get, clock_res_get).
	int64_t real = ns(CLOCK_REALTIME);
	snprintf(detail, sizeof detail, "realtime %lld ns", (long long)real);
	check(real > 1577836800LL * 1000000000, "clock_time_get realtime is after 2020", detail);
	struct timespec res;
	check(clock_getres(CLOCK_MONOTONIC, &res) == 0 && (res.tv_sec > 0 || res.tv_nsec > 0), "clock_res_get monotonic",
	      strerror(errno));
	check(clock_getres(CLOCK_REALTIME, &res) == 0 && (res.tv_sec > 0 || res.tv_nsec > 0), "clock_res_get realtime",
	      strerror(errno));
	int64_t m0 = ns(CLOCK_MONOTONIC), m1 = ns(CLOCK_MONOTONIC);
	check(m0 > 0 && m1 >= m0, "clock_time_get monotonic does not go back", "monotonic went back");

	// Sleep (poll_oneoff with a clock subscription).
	struct timespec req = {0, 20 * 1000 * 1000};
	int64_t before = ns(CLOCK_MONOTONIC);
	int r = nanosleep(&req, NULL);
	int64_t slept = ns(CLOCK_MONOTONIC) - before;
	snprintf(detail, sizeof detail, "r=%d slept %lld ns", r, (long long)slept);
	check(r == 0 && slept >= 20 * 1000 * 1000, "poll_oneoff clock: nanosleep 20ms", detail);
	before = ns(CLOCK_MONOTONIC);
	r = poll(NULL, 0, 15);
	slept = ns(CLOCK_MONOTONIC) - before;
	snprintf(detail, sizeof detail, "r=%d slept %lld ns", r, (long long)slept);
	check(r == 0 && slept >= 15 * 1000 * 1000, "poll_oneoff clock: poll timeout 15ms", detail);

	// fd readiness (poll_oneoff with an fd_write subscription).
	struct pollfd pfd = {.fd = 1, .events = POLLOUT};
	r = poll(&pfd, 1, 1000);
	snprintf(detail, sizeof detail, "r=%d revents=%#x errno=%s", r, pfd.revents, strerror(errno));
	check(r == 1 && (pfd.revents & POLLOUT), "poll_oneoff fd_write: stdout is writable", detail);

	// Random (random_get).
	unsigned char a[64] = {0}, b[64] = {0};
	check(getentropy(a, sizeof a) == 0 && getentropy(b, sizeof b) == 0, "random_get", strerror(errno));
	int zeros = 0, distinct = memcmp(a, b, sizeof a) != 0;
	for (size_t i = 0; i < sizeof a; i++)
		zeros += a[i] == 0;
	check(distinct && zeros < 16, "random_get returns fresh bytes", "two draws equal or mostly zero");

	check(sched_yield() == 0, "sched_yield", strerror(errno));

	if (failures)
		printf("RESULT: FAIL %d of %d checks\n", failures, checks);
	else
		printf("RESULT: PASS %d checks\n", checks);
	fflush(stdout);

	if (argc >= 3 && strcmp(argv[argc - 2], "exit") == 0)
		exit(atoi(argv[argc - 1])); // proc_exit
	return failures ? 1 : 0;
}
