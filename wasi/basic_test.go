package wasi

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"
)

func TestArgsEnviron(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Args = []string{"prog", "", "ü"}
		c.Env = []string{"A=1", "EMPTY="}
	})
	e.want(errSuccess, "args_sizes_get", 0, 4)
	if argc, size := e.u32(0), e.u32(4); argc != 3 || size != uint32(len("prog\x00\x00ü\x00")) {
		t.Fatalf("argc %d size %d", argc, size)
	}
	e.want(errSuccess, "args_get", 100, 200)
	for i, want := range []string{"prog", "", "ü"} {
		ptr := e.u32(100 + uint32(i)*4)
		got := e.bytes(ptr, uint32(len(want))+1)
		if string(got) != want+"\x00" {
			t.Errorf("argv[%d] = %q", i, got)
		}
	}
	if got := string(e.bytes(200, 9)); got != "prog\x00\x00ü\x00" {
		t.Fatalf("argv_buf %q", got)
	}
	e.want(errSuccess, "environ_sizes_get", 0, 4)
	if n, size := e.u32(0), e.u32(4); n != 2 || size != 11 {
		t.Fatalf("environ %d %d", n, size)
	}
	e.want(errSuccess, "environ_get", 100, 200)
	if got := string(e.bytes(200, 11)); got != "A=1\x00EMPTY=\x00" || e.u32(104) != 204 {
		t.Fatalf("environ_buf %q", got)
	}
	for _, c := range []struct {
		name string
		a, b uint64
	}{
		{"args_get", 65535, 200},
		{"args_get", 100, 65530},
		{"args_sizes_get", 65535, 0},
		{"args_sizes_get", 0, 65535},
		{"environ_get", 65534, 200},
		{"environ_get", 100, 1<<32 - 1},
		{"environ_sizes_get", 1 << 20, 0},
	} {
		e.want(errFault, c.name, c.a, c.b)
	}
	for _, cfg := range []Config{
		{Args: []string{"a\x00b"}},
		{Env: []string{"A=\x00"}},
		{Env: []string{"NOEQUALS"}},
		{MaxFDs: 2},
	} {
		if _, err := NewProcess(cfg); err == nil {
			t.Errorf("NewProcess(%+v) did not fail", cfg)
		}
	}
}

func TestClocks(t *testing.T) {
	wall, mono := int64(1_000_000_123), int64(5_000)
	e := newEnv(t, func(c *Config) {
		c.Walltime = func() int64 { return wall }
		c.Nanotime = func() int64 { return mono }
	})
	mono = 7_000 // the CPU-time clocks count from NewProcess, at 5000
	e.log.Reset()
	e.call("clock_time_get", clockRealtime, 1, 0)
	e.call("clock_time_get", clockMonotonic, 1, 0)
	e.call("clock_time_get", clockProcessCPU, 1, 0)
	e.call("clock_time_get", clockThreadCPU, 1, 0)
	e.call("clock_time_get", 4, 1, 0)
	e.call("clock_time_get", clockRealtime, 1, 65535)
	e.call("clock_res_get", clockRealtime, 0)
	e.call("clock_res_get", clockMonotonic, 0)
	e.call("clock_res_get", 9, 0)
	e.call("clock_res_get", clockMonotonic, 65530)
	e.requireTranscript(`
==> wasi_snapshot_preview1.clock_time_get(id=realtime,precision=1)
<== (timestamp=1000000123,errno=ESUCCESS)
==> wasi_snapshot_preview1.clock_time_get(id=monotonic,precision=1)
<== (timestamp=7000,errno=ESUCCESS)
==> wasi_snapshot_preview1.clock_time_get(id=2,precision=1)
<== (timestamp=2000,errno=ESUCCESS)
==> wasi_snapshot_preview1.clock_time_get(id=3,precision=1)
<== (timestamp=2000,errno=ESUCCESS)
==> wasi_snapshot_preview1.clock_time_get(id=4,precision=1)
<== (timestamp=,errno=EINVAL)
==> wasi_snapshot_preview1.clock_time_get(id=realtime,precision=1)
<== (timestamp=,errno=EFAULT)
==> wasi_snapshot_preview1.clock_res_get(id=realtime)
<== (resolution=1000,errno=ESUCCESS)
==> wasi_snapshot_preview1.clock_res_get(id=monotonic)
<== (resolution=1,errno=ESUCCESS)
==> wasi_snapshot_preview1.clock_res_get(id=9)
<== (resolution=,errno=EINVAL)
==> wasi_snapshot_preview1.clock_res_get(id=monotonic)
<== (resolution=,errno=EFAULT)
`)
	// The default clocks are the host's.
	d := newEnv(t)
	d.want(errSuccess, "clock_time_get", clockRealtime, 0, 0)
	if got := int64(d.u64(0)); got < time.Now().Add(-time.Minute).UnixNano() || got > time.Now().UnixNano() {
		t.Fatalf("realtime %d", got)
	}
	d.want(errSuccess, "clock_time_get", clockMonotonic, 0, 0)
	m1 := d.u64(0)
	time.Sleep(time.Millisecond)
	d.want(errSuccess, "clock_time_get", clockMonotonic, 0, 0)
	if m2 := d.u64(0); m2 <= m1 {
		t.Fatalf("monotonic %d then %d", m1, m2)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("broken") }

func TestRandomGet(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Rand = bytes.NewReader([]byte("0123456789")) })
	e.want(errSuccess, "random_get", 100, 4)
	e.want(errSuccess, "random_get", 104, 0)
	if got := string(e.bytes(100, 4)); got != "0123" {
		t.Fatalf("random %q", got)
	}
	e.want(errFault, "random_get", 65530, 10)
	e.want(errIo, "random_get", 100, 100) // the reader runs out
	f := newEnv(t, func(c *Config) { c.Rand = failingReader{} })
	f.want(errIo, "random_get", 100, 1)
	d := newEnv(t)
	d.want(errSuccess, "random_get", 100, 32)
	if bytes.Equal(d.bytes(100, 32), make([]byte, 32)) {
		t.Fatal("crypto/rand gave zeros")
	}
}

func TestMiscFunctions(t *testing.T) {
	e := newEnv(t)
	e.log.Reset()
	e.call("sched_yield")
	e.call("proc_raise", 6)
	e.call("sock_accept", 3, 0, 100)
	e.call("sock_accept", 50, 0, 100)
	e.call("sock_recv", 3, 100, 1, 0, 200, 204)
	e.call("sock_send", 1, 100, 1, 0, 200)
	e.call("sock_shutdown", 3, 3)
	e.requireTranscript(`
==> wasi_snapshot_preview1.sched_yield()
<== errno=ESUCCESS
==> wasi_snapshot_preview1.proc_raise(sig=6)
<== errno=ENOSYS
==> wasi_snapshot_preview1.sock_accept(fd=3,flags=)
<== (fd=,errno=ENOTSOCK)
==> wasi_snapshot_preview1.sock_accept(fd=50,flags=)
<== (fd=,errno=EBADF)
==> wasi_snapshot_preview1.sock_recv(fd=3,ri_data=100,ri_data_len=1,ri_flags=)
<== (ro_datalen=,ro_flags=,errno=ENOTSOCK)
==> wasi_snapshot_preview1.sock_send(fd=1,si_data=100,si_data_len=1,si_flags=)
<== (so_datalen=,errno=ENOTSOCK)
==> wasi_snapshot_preview1.sock_shutdown(fd=3,how=RD|WR)
<== errno=ENOTSOCK
`)
}

func TestProcExit(t *testing.T) {
	e := newEnv(t)
	_, err := e.mod.ExportedFunction("proc_exit").Call(e.ctx, 42)
	var exit *sys.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 42 {
		t.Fatalf("proc_exit: %v", err)
	}
	if !e.mod.IsClosed() {
		t.Fatal("module still open after proc_exit")
	}
}

// TestNoProcess checks that a guest called with a context that carries no Process gets ENOSYS
// from every import but proc_exit (which still exits), and the host does not panic.
func TestNoProcess(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	if _, err := Instantiate(ctx, r); err != nil {
		t.Fatal(err)
	}
	mod, err := r.Instantiate(ctx, proxyBinary(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range signatures() {
		if s.name == "proc_exit" {
			continue
		}
		res, err := mod.ExportedFunction(s.name).Call(ctx, make([]uint64, len(s.params))...)
		if err != nil || errno(res[0]) != errNosys {
			t.Errorf("%s: %v %v", s.name, res, err)
		}
	}
	_, err = mod.ExportedFunction("proc_exit").Call(ctx, 3)
	var exit *sys.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("proc_exit: %v", err)
	}
	// A second instantiation of the host module in the same runtime is wazero's error.
	if _, err := Instantiate(ctx, r); err == nil {
		t.Fatal("second Instantiate succeeded")
	}
}
