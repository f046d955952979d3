package wasi

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/sys"
)

func TestStdio(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Stdin = strings.NewReader("line one\nline two\n") })
	if n := e.writeString(1, "to stdout"); n != 9 {
		t.Fatalf("wrote %d", n)
	}
	e.writeString(2, "to stderr")
	if e.stdout.String() != "to stdout" || e.stderr.String() != "to stderr" {
		t.Fatalf("stdout %q stderr %q", e.stdout.String(), e.stderr.String())
	}
	if got := e.readString(0, 5); got != "line " {
		t.Fatalf("stdin %q", got)
	}
	if got := e.readString(0, 100); got != "one\nline two\n" {
		t.Fatalf("stdin %q", got)
	}
	if got := e.readString(0, 100); got != "" {
		t.Fatalf("stdin at EOF %q", got)
	}
	e.want(errBadf, "fd_write", 0, 4000, 1, 4008)
	e.want(errBadf, "fd_read", 1, 4000, 1, 4008)
	// Standard streams that are not character devices: no seek, tell, sync.
	for fd := uint64(0); fd < 3; fd++ {
		e.want(errSuccess, "fd_fdstat_get", fd, 100)
		b := e.bytes(100, 24)
		if b[0] != filetypeUnknown || le.Uint64(b[8:])&(rightFdSeek|rightFdTell) != 0 {
			t.Errorf("fd %d: fdstat % x", fd, b)
		}
	}
	// nil streams: empty stdin, discarded output.
	n := newEnv(t, func(c *Config) { c.Stdout, c.Stderr = nil, nil })
	if got := n.writeString(1, "gone"); got != 4 {
		t.Fatalf("discarded write %d", got)
	}
	if got := n.readString(0, 10); got != "" {
		t.Fatalf("nil stdin %q", got)
	}
}

func TestStdioCharDevice(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	e := newEnv(t, func(c *Config) { c.Stdin, c.Stdout = null, null })
	for fd := uint64(0); fd < 2; fd++ {
		e.want(errSuccess, "fd_fdstat_get", fd, 100)
		if b := e.bytes(100, 1); b[0] != filetypeCharDev {
			t.Errorf("fd %d: filetype %d, want character device", fd, b[0])
		}
	}
}

type errWriter struct{ n int }

func (w *errWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("full")
	}
	n := min(w.n, len(p))
	w.n -= n
	return n, errors.New("full")
}

func TestStdoutErrors(t *testing.T) {
	w := &errWriter{n: 3}
	e := newEnv(t, func(c *Config) { c.Stdout = w })
	if n := e.writeString(1, "hello"); n != 3 {
		t.Fatalf("short write %d", n)
	}
	e.put(5000, []byte("x"))
	e.iov(4000, 5000, 1)
	e.want(errIo, "fd_write", 1, 4000, 1, 4008)
}

// poll writes nsub subscriptions built by the callers at 20000 and polls them.
func (e *env) poll(subs ...[]byte) (errno, []event) {
	e.t.Helper()
	for i, s := range subs {
		e.put(20000+uint32(i)*sizeSubscription, s)
	}
	got := e.call("poll_oneoff", 20000, 30000, uint64(len(subs)), 19000)
	if got != errSuccess {
		return got, nil
	}
	var evs []event
	for i := uint32(0); i < e.u32(19000); i++ {
		b := e.bytes(30000+i*sizeEvent, sizeEvent)
		evs = append(evs, event{le.Uint64(b), errno(le.Uint16(b[8:])), b[10], le.Uint64(b[16:]), le.Uint16(b[24:])})
	}
	return errSuccess, evs
}

type event struct {
	userdata uint64
	err      errno
	typ      byte
	nbytes   uint64
	flags    uint16
}

func clockSub(userdata uint64, id uint32, timeout uint64, flags uint16) []byte {
	b := make([]byte, sizeSubscription)
	le.PutUint64(b, userdata)
	b[8] = eventClock
	le.PutUint32(b[16:], id)
	le.PutUint64(b[24:], timeout)
	le.PutUint16(b[40:], flags)
	return b
}

func fdSub(userdata uint64, typ byte, fd uint32) []byte {
	b := make([]byte, sizeSubscription)
	le.PutUint64(b, userdata)
	b[8] = typ
	le.PutUint32(b[16:], fd)
	return b
}

func TestPollOneoff(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	e := newEnv(t, func(c *Config) { c.Stdin = pr })
	fd := e.open("/f", oflagCreat, 0)
	e.writeString(fd, "12345")
	e.want(errSuccess, "fd_seek", uint64(fd), 1, whenceSet, 100)

	// A relative clock sleeps for about its timeout.
	start := time.Now()
	got, evs := e.poll(clockSub(7, clockMonotonic, uint64(20*time.Millisecond), 0))
	if el := time.Since(start); got != errSuccess || len(evs) != 1 || evs[0] != (event{userdata: 7, typ: eventClock}) || el < 20*time.Millisecond {
		t.Fatalf("clock: %v %+v after %v", got, evs, el)
	}
	// An absolute realtime clock in the past fires at once; files are always ready.
	got, evs = e.poll(clockSub(1, clockRealtime, 1, subclockAbstime), fdSub(2, eventFdRead, fd), fdSub(3, eventFdWrite, fd),
		fdSub(4, eventFdRead, 99), fdSub(5, eventFdWrite, 1), fdSub(6, eventFdRead, 3), clockSub(8, 17, 0, 0))
	want := []event{
		{userdata: 1, typ: eventClock},
		{userdata: 2, typ: eventFdRead, nbytes: 4},
		{userdata: 3, typ: eventFdWrite},
		{userdata: 4, typ: eventFdRead, err: errBadf},
		{userdata: 5, typ: eventFdWrite},
		{userdata: 6, typ: eventFdRead, err: errBadf},
		{userdata: 8, typ: eventClock, err: errInval},
	}
	if got != errSuccess || len(evs) != len(want) {
		t.Fatalf("%v %+v", got, evs)
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, evs[i], want[i])
		}
	}
	// Stdin without data and a timeout: the clock fires, stdin does not.
	got, evs = e.poll(fdSub(1, eventFdRead, 0), clockSub(2, clockMonotonic, uint64(10*time.Millisecond), 0))
	if got != errSuccess || len(evs) != 1 || evs[0].userdata != 2 {
		t.Fatalf("stdin with timeout: %v %+v", got, evs)
	}
	// Data arrives while polling: stdin fires with the bytes buffered.
	go func() {
		time.Sleep(10 * time.Millisecond)
		pw.Write([]byte("abc"))
	}()
	got, evs = e.poll(fdSub(1, eventFdRead, 0), clockSub(2, clockMonotonic, uint64(10*time.Second), 0))
	if got != errSuccess || len(evs) != 1 || evs[0] != (event{userdata: 1, typ: eventFdRead, nbytes: 3}) {
		t.Fatalf("stdin data: %v %+v", got, evs)
	}
	if s := e.readString(0, 100); s != "abc" {
		t.Fatalf("read %q", s)
	}
	// A read of 0 bytes does not wait for data.
	e.iov(4000, 5000, 0)
	e.want(errSuccess, "fd_read", 0, 4000, 1, 4008)
	// NONBLOCK: no data is EAGAIN.
	e.want(errSuccess, "fd_fdstat_set_flags", 0, uint64(fdflagNonblock))
	e.iov(4000, 5000, 10)
	e.want(errAgain, "fd_read", 0, 4000, 1, 4008)
	e.want(errSuccess, "fd_fdstat_set_flags", 0, 0)
	// End of stdin: ready with the hangup flag, reads return 0.
	pw.Close()
	got, evs = e.poll(fdSub(1, eventFdRead, 0))
	if got != errSuccess || len(evs) != 1 || evs[0] != (event{userdata: 1, typ: eventFdRead, flags: eventrwHangup}) {
		t.Fatalf("stdin EOF: %v %+v", got, evs)
	}
	if s := e.readString(0, 100); s != "" {
		t.Fatalf("read at EOF %q", s)
	}
	// Errors of the call itself.
	e.want(errInval, "poll_oneoff", 20000, 30000, 0, 19000)
	e.want(errInval, "poll_oneoff", 20000, 30000, maxSubscriptions+1, 19000)
	e.put(20000, fdSub(1, 3, 0))
	e.want(errInval, "poll_oneoff", 20000, 30000, 1, 19000)
	e.put(20000, clockSub(1, clockMonotonic, 0, 0))
	e.want(errFault, "poll_oneoff", 65500, 30000, 1, 19000)
	e.want(errFault, "poll_oneoff", 20000, 65520, 1, 19000)
	e.want(errFault, "poll_oneoff", 20000, 30000, 1, 65534)
	e.want(errFault, "poll_oneoff", 20000, 30000, 2000, 19000)
}

// TestPollFakeClock checks that a configured monotonic clock that does not move cannot make
// poll_oneoff spin: the Go timer decides.
func TestPollFakeClock(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Nanotime = func() int64 { return 100 } })
	got, evs := e.poll(clockSub(1, clockMonotonic, uint64(5*time.Millisecond), 0))
	if got != errSuccess || len(evs) != 1 {
		t.Fatalf("%v %+v", got, evs)
	}
	got, evs = e.poll(clockSub(1, clockMonotonic, 150, subclockAbstime))
	if got != errSuccess || len(evs) != 1 {
		t.Fatalf("%v %+v", got, evs)
	}
}

// TestWaitContextDone checks that a guest blocked in poll_oneoff or in a stdin read ends with
// the deadline's exit code when its context is done.
func TestWaitContextDone(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	e := newEnv(t, func(c *Config) { c.Stdin = pr })
	for _, c := range []struct {
		name string
		args []uint64
	}{
		{"poll_oneoff", []uint64{20000, 30000, 1, 19000}},
		{"fd_read", []uint64{0, 4000, 1, 4008}},
	} {
		e.put(20000, clockSub(1, clockMonotonic, uint64(time.Hour), 0))
		e.iov(4000, 5000, 10)
		ctx, cancel := context.WithTimeout(e.ctx, 20*time.Millisecond)
		start := time.Now()
		_, err := e.mod.ExportedFunction(c.name).Call(ctx, c.args...)
		cancel()
		var exit *sys.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != sys.ExitCodeDeadlineExceeded || time.Since(start) > 10*time.Second {
			t.Fatalf("%s: %v after %v", c.name, err, time.Since(start))
		}
		// The module is closed now; make a fresh one for the next case.
		mod, err := e.r.Instantiate(e.ctx, proxyBinary(1))
		if err != nil {
			t.Fatal(err)
		}
		e.mod = mod
	}
}
