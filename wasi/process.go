package wasi

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/wasmrun/wasmrun/vfs"
)

// DefaultMaxFDs is the number of file descriptors a Process may hold when Config.MaxFDs is 0.
const DefaultMaxFDs = 1024

// Config is what one guest process sees: its arguments, environment, standard streams,
// filesystem, clocks and entropy. The zero Config is a process with no arguments, empty stdin,
// discarded output, no filesystem and the host's clocks.
type Config struct {
	// Args are the command-line arguments, Args[0] being the program name by convention.
	// An argument may not contain a NUL byte.
	Args []string
	// Env are the environment variables, each "KEY=VALUE". A variable may not contain a NUL
	// byte nor lack its '='.
	Env []string
	// Stdin is fd 0; nil reads as empty. It is read by one goroutine of the Process, started at
	// the first fd_read or poll_oneoff of fd 0, so that a read or a poll can wait for it
	// together with a timeout or the context (see the package doc, "Standard input").
	Stdin io.Reader
	// Stdout is fd 1 and Stderr fd 2; nil discards what the guest writes.
	Stdout io.Writer
	Stderr io.Writer
	// NS is the filesystem. By default it is preopened as "/" at fd 3 (in strict mode, see
	// Preopens). With a nil NS the process has no preopen and no filesystem: every path_* call
	// is EBADF or ENOTDIR, as no directory fd exists.
	NS *vfs.Namespace
	// Strict runs the guest in WASI preview1's capability model as wasmtime (cap-std) implements
	// it, instead of the Linux-exact default (see the package doc, "Strict mode"): the
	// preopens are exactly Preopens, every path_* call resolves beneath its directory fd, and
	// the rights of each fd are enforced (ENOTCAPABLE).
	Strict bool
	// Preopens are, in strict mode only, the directories of NS preopened from fd 3 in this
	// order, each by its absolute guest path, which is also the name fd_prestat_dir_name
	// reports. None (the zero value) means no preopen at all: fd 3 is EBADF. Each must name a
	// directory of NS. The default mode ignores Preopens and preopens "/".
	Preopens []string
	// MaxFDs bounds the number of open fds, stdio and the preopen included; 0 means
	// DefaultMaxFDs. Opening one more is EMFILE.
	MaxFDs int
	// Walltime returns the real time in nanoseconds since the Unix epoch (CLOCK_REALTIME);
	// nil means time.Now.
	Walltime func() int64
	// Nanotime returns a monotonic time in nanoseconds (CLOCK_MONOTONIC); nil means the time
	// since this package was loaded, read from Go's monotonic clock.
	Nanotime func() int64
	// Rand is the source of random_get; nil means crypto/rand.Reader.
	Rand io.Reader
	// Trace, if not nil, receives one line per host call, strace style, written after the call
	// with a single Write (see the package doc, "Tracing"). Processes that share a Trace writer
	// write to it concurrently: use an *os.File, or wrap the writer with LockedWriter. Write
	// errors are ignored. With a nil Trace, tracing costs one nil check per call.
	Trace io.Writer
	// TraceTag, if not empty, prefixes each trace line as "[TraceTag] ", to tell apart the
	// lines of several guests sharing one Trace writer.
	TraceTag string
}

// Process is the per-guest state of the host module: the fd table, arguments, environment,
// clocks and scratch buffers. One Process serves one running module instance; its host calls
// come from that guest's single thread, so a Process is not safe for concurrent host calls
// (WASI preview1 has no threads). Attach it to the context of the guest's calls with
// WithProcess.
type Process struct {
	args    []string
	env     []string
	ns      *vfs.Namespace
	fds     fdTable
	stdin   *inStream
	wall    func() int64
	nano    func() int64
	rand    io.Reader
	trace   *tracer // nil unless Config.Trace is set
	started int64   // nano() when the Process was made: the origin of the CPU-time clocks
	strict  bool    // Config.Strict: rights enforced, paths resolved beneath their dirfd

	// Scratch reused by every call, so steady-state I/O allocates nothing.
	iovs     [][]byte
	dirBuf   []byte // the guest buffer fd_readdir fills, during the call
	dirPos   int
	direntFn func(*vfs.DirEntry) bool // p.packDirent, bound once
	subs     []subscription
	timer    *time.Timer
	closed   bool
	memMod   api.Module // the module mem belongs to
	mem      api.Memory // its memory, nil if it has none
}

var processStart = time.Now()

func defaultNanotime() int64 { return int64(time.Since(processStart)) }

func defaultWalltime() int64 { return time.Now().UnixNano() }

// NewProcess makes the state of one guest process from cfg: fds 0, 1 and 2 are the standard
// streams, and fd 3 the preopened directory "/" of cfg.NS (in strict mode, fds 3 and up are
// cfg.Preopens). It returns an error if an argument or variable contains a NUL byte, a variable
// has no '=', MaxFDs is too small for the standard streams and the preopens, or a preopen cannot
// be opened as a directory (the error names its guest path).
func NewProcess(cfg Config) (*Process, error) {
	for _, a := range cfg.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, errors.New("wasi: argument contains a NUL byte")
		}
	}
	for _, e := range cfg.Env {
		if strings.IndexByte(e, 0) >= 0 {
			return nil, errors.New("wasi: environment variable contains a NUL byte")
		}
		if strings.IndexByte(e, '=') < 0 {
			return nil, errors.New("wasi: environment variable " + e + " is not KEY=VALUE")
		}
	}
	if err := checkListSize(cfg.Args); err != nil {
		return nil, err
	}
	if err := checkListSize(cfg.Env); err != nil {
		return nil, err
	}
	p := &Process{
		args:   append([]string(nil), cfg.Args...),
		env:    append([]string(nil), cfg.Env...),
		ns:     cfg.NS,
		wall:   cfg.Walltime,
		nano:   cfg.Nanotime,
		rand:   cfg.Rand,
		stdin:  &inStream{r: cfg.Stdin},
		strict: cfg.Strict,
	}
	if p.wall == nil {
		p.wall = defaultWalltime
	}
	if p.nano == nil {
		p.nano = defaultNanotime
	}
	if p.rand == nil {
		p.rand = rand.Reader
	}
	if cfg.Trace != nil {
		p.trace = newTracer(cfg.Trace, cfg.TraceTag)
	}
	p.started = p.nano()
	p.direntFn = p.packDirent
	p.fds.max = cfg.MaxFDs
	if p.fds.max == 0 {
		p.fds.max = DefaultMaxFDs
	}
	var preopens []string
	switch {
	case cfg.NS == nil:
	case cfg.Strict:
		preopens = cfg.Preopens
	default:
		preopens = []string{"/"}
	}
	if p.fds.max < 3+len(preopens) {
		return nil, errors.New("wasi: MaxFDs is too small for the standard streams and the preopens")
	}
	p.fds.set(0, &fdEntry{kind: kindStdin, filetype: streamFiletype(cfg.Stdin), base: rightsStdin, access: accRead})
	p.fds.set(1, &fdEntry{kind: kindStdout, filetype: streamFiletype(cfg.Stdout), base: rightsStdout, access: accWrite, out: &outStream{w: cfg.Stdout}})
	p.fds.set(2, &fdEntry{kind: kindStdout, filetype: streamFiletype(cfg.Stderr), base: rightsStdout, access: accWrite, out: &outStream{w: cfg.Stderr}})
	for i, dir := range preopens {
		if dir == "" || dir[0] != '/' {
			p.Close()
			return nil, errors.New("wasi: preopen " + strconv.Quote(dir) + " is not an absolute guest path")
		}
		h, e := cfg.NS.Open(cfg.NS.Root(), dir, vfs.ORead|vfs.ODirectory, 0)
		if e != vfs.ESUCCESS {
			p.Close()
			return nil, errors.New("wasi: preopen " + strconv.Quote(dir) + ": " + e.Error())
		}
		p.fds.set(3+i, &fdEntry{
			kind: kindDir, filetype: filetypeDirectory, h: h,
			access: accRead, base: rightsDir, inherit: rightsDir | rightsFile, preopen: dir,
		})
	}
	return p, nil
}

func checkListSize(list []string) error {
	var n uint64
	for _, s := range list {
		n += uint64(len(s)) + 1 + 4
	}
	if n > 1<<31 {
		return errors.New("wasi: arguments or environment too large")
	}
	return nil
}

// streamFiletype is the WASI filetype a standard stream reports: a character device when it is
// an *os.File on one (a terminal, /dev/null), unknown otherwise (a pipe, a buffer, a file). With
// no seek or tell rights, a character device is what wasi-libc's isatty recognises.
func streamFiletype(s any) uint8 {
	if f, ok := s.(*os.File); ok && f != nil {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return filetypeCharDev
		}
	}
	return filetypeUnknown
}

type processKey struct{}

// WithProcess returns a context carrying p. Pass it to wazero's InstantiateModule (which runs
// _start) or to api.Function.Call: the host functions find the calling guest's Process in the
// context wazero hands them. A host call whose context carries no Process returns ENOSYS
// (proc_exit still exits).
func WithProcess(ctx context.Context, p *Process) context.Context {
	return context.WithValue(ctx, processKey{}, p)
}

func processFrom(ctx context.Context) *Process {
	p, _ := ctx.Value(processKey{}).(*Process)
	return p
}

// Close closes every open fd and stops reading stdin. It returns the first error a backend
// reported on close. Close must not run while a host call of this Process is in progress; it is
// for after the guest returned. A second Close does nothing.
func (p *Process) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	var first vfs.Errno
	p.fds.each(func(fd uint32, e *fdEntry) {
		if err := closeEntry(p.fds.remove(fd)); err != vfs.ESUCCESS && first == vfs.ESUCCESS {
			first = err
		}
	})
	p.stdin.close()
	if p.timer != nil {
		p.timer.Stop()
	}
	return first.Err()
}

func closeEntry(e *fdEntry) vfs.Errno {
	if e != nil && e.h != nil && e.h.File != nil {
		return e.h.File.Close()
	}
	return vfs.ESUCCESS
}
