package wasi

import (
	"context"
	"io"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
	"github.com/wasmrun/wasmrun/vfs"
)

// Tracing (Config.Trace): one line per host call, strace style, written after the call:
//
//	path_open(fd=3, dirflags=SYMLINK_FOLLOW, path="data/x.txt", oflags=CREAT|TRUNC, ...) = fd 5
//	fd_read(fd=5, iovs=[0x1000:4096, 0x3000:10] (2)) = 4096
//	path_filestat_get(fd=3, flags=0, path="nope") = -1 ENOENT
//
// The arguments are decoded from the call's parameters and the guest memory they point to
// (before the call, as the call saw them), the result from the errno and the records the call
// wrote (after it). The decoding is driven by a spec per import, built once from the parameter
// names of the functions table.

// traceStringMax is how many bytes of a path or symlink target a line shows; longer ones end
// in "...".
const traceStringMax = 256

// traceListMax is how many iovecs or subscriptions a line shows; more end in "...".
const traceListMax = 4

// argKind says how one parameter (or a pointer and length pair) is shown.
type argKind uint8

const (
	argU32      argKind = iota // decimal
	argU64                     // decimal, 64 bits
	argS64                     // signed decimal (fd_seek's offset)
	argPtr                     // a guest address, in hex
	argString                  // (ptr, len): a quoted string from guest memory
	argIovs                    // (ptr, count): the iovec array, as [ptr:len, ...] (count)
	argSubs                    // (in, out, count) of poll_oneoff: the subscriptions
	argLookup                  // lookupflags
	argOflags                  // oflags
	argRights                  // rights
	argFdflags                 // fdflags
	argFstflags                // fstflags
	argWhence                  // whence
	argAdvice                  // advice
	argClock                   // clockid
)

// resultKind says how a successful call's result is shown.
type resultKind uint8

const (
	resNone     resultKind = iota // "= 0"
	resU32                        // "= n", a u32 the call wrote
	resU64                        // "= n", a u64 the call wrote
	resFd                         // "= fd n"
	resSizes                      // "= argc n, size n" (args_sizes_get, environ_sizes_get)
	resFilestat                   // "= {ino=..., type=..., nlink=..., size=...}"
	resFdstat                     // "= {type=..., flags=..., rights=..., inheriting=...}"
	resPrestat                    // "= {dir, name_len=n}"
	resName                       // "= "name"" (fd_prestat_dir_name)
	resReadlink                   // "= n "target""
)

// traceArg is one shown argument: its name and kind, and the stack index it starts at.
type traceArg struct {
	name string
	kind argKind
	i    uint8
}

// traceSpec is how the calls of one import are shown.
type traceSpec struct {
	name   string
	args   []traceArg
	result resultKind
	res    uint8 // stack index of the result pointer
}

// traceSpecs maps each entry of functions to its spec. It is built once and only read.
var traceSpecs = func() map[*hostFunc]*traceSpec {
	m := make(map[*hostFunc]*traceSpec, len(functions))
	for i := range functions {
		m[&functions[i]] = makeTraceSpec(&functions[i])
	}
	return m
}()

// makeTraceSpec derives the spec of f from its parameter names.
func makeTraceSpec(f *hostFunc) *traceSpec {
	sp := &traceSpec{name: f.name}
	names := f.names
	res := -1
	for i := 0; i < len(names); i++ {
		name := names[i]
		a := traceArg{name: name, i: uint8(i)}
		pair := i+1 < len(names) && names[i+1] == name+"_len"
		switch {
		case name == "result.path_len": // fd_prestat_dir_name: the size of the output buffer
			a.name, a.kind = "path_len", argU32
		case strings.HasPrefix(name, "result."):
			if res < 0 {
				res = i
			}
			continue
		case pair && (name == "path" || name == "old_path" || name == "new_path"):
			a.kind = argString
			i++
		case pair && (name == "iovs" || name == "ri_data" || name == "si_data"):
			a.kind = argIovs
			i++
		case name == "in" && f.name == "poll_oneoff":
			a.kind = argSubs
			i += 2 // out, nsubscriptions
		case name == "dirflags" || name == "old_flags" ||
			(name == "flags" && strings.HasPrefix(f.name, "path_")):
			a.kind = argLookup
		case name == "flags" || name == "fdflags":
			a.kind = argFdflags
		case name == "oflags":
			a.kind = argOflags
		case name == "fs_rights_base" || name == "fs_rights_inheriting":
			a.kind = argRights
		case name == "fst_flags":
			a.kind = argFstflags
		case name == "whence":
			a.kind = argWhence
		case name == "advice":
			a.kind = argAdvice
		case name == "id":
			a.kind = argClock
		case name == "offset" && f.name == "fd_seek":
			a.kind = argS64
		case f.params[i] == i64:
			a.kind = argU64
		case name == "buf" || name == "argv" || name == "argv_buf" || name == "environ" ||
			name == "environ_buf":
			a.kind = argPtr
		default:
			a.kind = argU32
		}
		sp.args = append(sp.args, a)
	}
	if res >= 0 {
		sp.res = uint8(res)
		sp.result = resU32
	}
	switch f.name {
	case "args_sizes_get", "environ_sizes_get":
		sp.result = resSizes
	case "fd_filestat_get", "path_filestat_get":
		sp.result = resFilestat
	case "fd_fdstat_get":
		sp.result = resFdstat
	case "fd_prestat_get":
		sp.result = resPrestat
	case "fd_prestat_dir_name":
		sp.result = resName
	case "path_open", "sock_accept":
		sp.result = resFd
	case "path_readlink":
		sp.result = resReadlink
	case "fd_seek", "fd_tell", "clock_time_get", "clock_res_get":
		sp.result = resU64
	}
	return sp
}

// tracer is the tracing state of one Process: where lines go, their prefix, and the line being
// built (reused, so a traced call allocates little).
type tracer struct {
	w   io.Writer
	tag string // "[tag] ", or ""
	buf []byte
}

func newTracer(w io.Writer, tag string) *tracer {
	t := &tracer{w: w, buf: make([]byte, 0, 512)}
	if tag != "" {
		t.tag = "[" + tag + "] "
	}
	return t
}

// tracedCall is hostFunc.Call with tracing on: the arguments are formatted before the call, the
// result after it, and the line is written whole with one Write. A call that unwinds the guest
// (a done context while waiting) is shown with "= ?" and the exit code; the panic goes on.
func (f *hostFunc) tracedCall(ctx context.Context, mod api.Module, p *Process, stack []uint64) {
	t := p.trace
	sp := traceSpecs[f]
	m := p.memory(mod)
	var args [9]uint64 // the longest signature, path_open, has 9 parameters
	for i, typ := range f.params {
		args[i] = stack[i]
		if typ == i32 { // the upper half of an i32 slot is not defined
			args[i] = uint64(uint32(args[i]))
		}
	}
	t.begin(sp.name)
	for i, a := range sp.args {
		if i > 0 {
			t.str(", ")
		}
		t.arg(m, &a, args[:])
	}
	t.str(")")
	done := false
	defer func() {
		if done {
			return
		}
		r := recover()
		t.str(" = ?")
		if r == nil { // runtime.Goexit: nothing to pass on
			t.end()
			return
		}
		if exit, ok := r.(*sys.ExitError); ok {
			t.str(" (exit ")
			t.u64(uint64(exit.ExitCode()))
			t.str(")")
		}
		t.end()
		panic(r)
	}()
	err := toErrno(f.fn(ctx, mod, p, stack))
	stack[0] = uint64(err)
	done = true
	t.result(p, m, sp, err, args[:])
	t.end()
}

// traceExit traces proc_exit, which does not return.
func (t *tracer) traceExit(code uint32) {
	t.begin("proc_exit")
	t.str("code=")
	t.u64(uint64(code))
	t.str(")")
	t.end()
}

func (t *tracer) begin(name string) {
	t.buf = append(t.buf[:0], t.tag...)
	t.buf = append(t.buf, name...)
	t.buf = append(t.buf, '(')
}

// end writes the line. A Write error is ignored: tracing never changes what the guest sees.
func (t *tracer) end() {
	t.buf = append(t.buf, '\n')
	_, _ = t.w.Write(t.buf)
	if cap(t.buf) > 64<<10 {
		t.buf = make([]byte, 0, 512)
	}
}

func (t *tracer) str(s string) { t.buf = append(t.buf, s...) }
func (t *tracer) u64(v uint64) { t.buf = strconv.AppendUint(t.buf, v, 10) }
func (t *tracer) hex(v uint64) { t.buf = strconv.AppendUint(append(t.buf, "0x"...), v, 16) }

// efault shows an address range outside guest memory.
func (t *tracer) efault(ptr, n uint64) {
	t.str("<EFAULT ")
	t.hex(ptr)
	t.str(":")
	t.u64(n)
	t.str(">")
}

// quoted shows the n bytes at ptr as a Go-quoted string, cut at traceStringMax bytes.
func (t *tracer) quoted(m api.Memory, ptr, n uint32) {
	b, ok := view(m, ptr, n)
	if !ok {
		t.efault(uint64(ptr), uint64(n))
		return
	}
	cut := len(b) > traceStringMax
	if cut {
		b = b[:traceStringMax]
	}
	// The string aliases guest memory only while AppendQuote reads it: no copy is made.
	var str string
	if len(b) > 0 {
		str = unsafe.String(&b[0], len(b))
	}
	t.buf = strconv.AppendQuote(t.buf, str)
	if cut {
		t.str("...")
	}
}

func (t *tracer) arg(m api.Memory, a *traceArg, s []uint64) {
	t.str(a.name)
	t.buf = append(t.buf, '=')
	v := s[a.i]
	switch a.kind {
	case argU32:
		t.u64(uint64(uint32(v)))
	case argU64:
		t.u64(v)
	case argS64:
		t.buf = strconv.AppendInt(t.buf, int64(v), 10)
	case argPtr:
		t.hex(uint64(uint32(v)))
	case argString:
		t.quoted(m, uint32(v), uint32(s[a.i+1]))
	case argIovs:
		t.iovs(m, uint32(v), uint32(s[a.i+1]))
	case argSubs:
		t.subs(m, uint32(v), uint32(s[a.i+2]))
		t.str(", out=")
		t.hex(uint64(uint32(s[a.i+1])))
	case argLookup:
		t.flags(v, lookupNames[:])
	case argOflags:
		t.flags(v, oflagNames[:])
	case argRights:
		t.rights(v)
	case argFdflags:
		t.flags(v, fdflagNames[:])
	case argFstflags:
		t.flags(v, fstflagNames[:])
	case argWhence:
		t.enum(v, whenceNames[:])
	case argAdvice:
		t.enum(v, adviceNames[:])
	case argClock:
		t.enum(v, clockNames[:])
	}
}

// records shows count records of size bytes at ptr as [r0, r1, ...] (count), each shown by
// show, at most traceListMax of them; <EFAULT ptr> if they are not all in memory.
func (t *tracer) records(m api.Memory, ptr, count, size uint32, show func(r []byte)) {
	if arr, ok := viewN(m, ptr, count, size); !ok {
		t.str("<EFAULT ")
		t.hex(uint64(ptr))
		t.str(">")
	} else {
		t.str("[")
		for i := uint32(0); i < count; i++ {
			if i > 0 {
				t.str(", ")
			}
			if i == traceListMax {
				t.str("...")
				break
			}
			show(arr[i*size : (i+1)*size])
		}
		t.str("]")
	}
	t.str(" (")
	t.u64(uint64(count))
	t.str(")")
}

// iovs shows count iovec records at ptr as [buf:len, ...] (count).
func (t *tracer) iovs(m api.Memory, ptr, count uint32) {
	t.records(m, ptr, count, sizeIovec, func(r []byte) {
		t.hex(uint64(le.Uint32(r)))
		t.str(":")
		t.u64(uint64(le.Uint32(r[4:])))
	})
}

// subs shows count poll_oneoff subscriptions at ptr.
func (t *tracer) subs(m api.Memory, ptr, count uint32) {
	t.records(m, ptr, count, sizeSubscription, func(r []byte) {
		switch r[8] {
		case eventClock:
			t.str("clock(")
			t.enum(uint64(le.Uint32(r[16:])), clockNames[:])
			t.str(", timeout=")
			t.u64(le.Uint64(r[24:]))
			if le.Uint16(r[40:])&subclockAbstime != 0 {
				t.str(", ABSTIME")
			}
			t.str(")")
		case eventFdRead:
			t.str("fd_read(")
			t.u64(uint64(le.Uint32(r[16:])))
			t.str(")")
		case eventFdWrite:
			t.str("fd_write(")
			t.u64(uint64(le.Uint32(r[16:])))
			t.str(")")
		default:
			t.str("event(")
			t.u64(uint64(r[8]))
			t.str(")")
		}
	})
}

// flags shows v as NAME|NAME, bit i named names[i]; unnamed bits are shown in hex, 0 as "0".
func (t *tracer) flags(v uint64, names []string) {
	if v == 0 {
		t.str("0")
		return
	}
	first := true
	for i, n := range names {
		if v&(1<<i) != 0 {
			if !first {
				t.str("|")
			}
			t.str(n)
			first = false
		}
	}
	if rest := v &^ (1<<len(names) - 1); rest != 0 {
		if !first {
			t.str("|")
		}
		t.hex(rest)
	}
}

// rights shows a rights set: ALL, ALL&~(NAME|...) when more than half are set, or the names of
// the rights that are: whichever lists fewer names.
func (t *tracer) rights(v uint64) {
	known := v & rightsAll
	switch {
	case known == rightsAll:
		t.str("ALL")
	case bits.OnesCount64(known) > len(rightNames)/2:
		t.str("ALL&~(")
		t.flags(rightsAll&^known, rightNames[:])
		t.str(")")
	default:
		t.flags(known, rightNames[:])
		if v&^rightsAll == 0 {
			return
		}
	}
	if rest := v &^ rightsAll; rest != 0 {
		t.str("|")
		t.hex(rest)
	}
}

// enum shows v as names[v], or as a number beyond them.
func (t *tracer) enum(v uint64, names []string) {
	if v < uint64(len(names)) {
		t.str(names[v])
		return
	}
	t.u64(v)
}

// result shows the outcome of a call: "= -1 ENAME" for an error, the decoded result otherwise.
func (t *tracer) result(p *Process, m api.Memory, sp *traceSpec, err errno, s []uint64) {
	if err != errSuccess {
		t.str(" = -1 ")
		t.str(err.String())
		return
	}
	t.str(" = ")
	r := uint32(s[sp.res])
	switch sp.result {
	case resNone:
		t.str("0")
	case resU32:
		t.u32At(m, r)
	case resU64:
		if b, ok := view(m, r, 8); ok {
			t.u64(le.Uint64(b))
		} else {
			t.str("?")
		}
	case resFd:
		t.str("fd ")
		t.u32At(m, r)
	case resSizes:
		t.str("count ")
		t.u32At(m, uint32(s[0]))
		t.str(", size ")
		t.u32At(m, uint32(s[1]))
	case resFilestat:
		b, ok := view(m, r, sizeFilestat)
		if !ok {
			t.str("?")
			return
		}
		t.str("{ino=")
		t.u64(le.Uint64(b[8:]))
		t.str(", type=")
		t.str(vfs.FileType(b[16]).String())
		t.str(", nlink=")
		t.u64(le.Uint64(b[24:]))
		t.str(", size=")
		t.u64(le.Uint64(b[32:]))
		t.str("}")
	case resFdstat:
		b, ok := view(m, r, sizeFdstat)
		if !ok {
			t.str("?")
			return
		}
		t.str("{type=")
		t.str(vfs.FileType(b[0]).String())
		t.str(", flags=")
		t.flags(uint64(le.Uint16(b[2:])), fdflagNames[:])
		t.str(", rights=")
		t.rights(le.Uint64(b[8:]))
		t.str(", inheriting=")
		t.rights(le.Uint64(b[16:]))
		t.str("}")
	case resPrestat:
		t.str("{dir, name_len=")
		t.u32At(m, r+4)
		t.str("}")
	case resName: // the call wrote the preopen's name, which may be shorter than the buffer
		n := uint32(s[2])
		if e := p.fds.get(uint32(s[0])); e != nil && uint32(len(e.preopen)) < n {
			n = uint32(len(e.preopen))
		}
		t.quoted(m, uint32(s[1]), n)
	case resReadlink:
		b, ok := view(m, r, 4)
		if !ok {
			t.str("?")
			return
		}
		n := le.Uint32(b)
		t.u64(uint64(n))
		t.str(" ")
		t.quoted(m, uint32(s[3]), n)
	}
}

// u32At shows the u32 at off, or "?" if it is outside memory.
func (t *tracer) u32At(m api.Memory, off uint32) {
	if b, ok := view(m, off, 4); ok {
		t.u64(uint64(le.Uint32(b)))
	} else {
		t.str("?")
	}
}

// Symbolic names, in bit (or value) order of typenames.witx.
var (
	lookupNames  = [...]string{"SYMLINK_FOLLOW"}
	oflagNames   = [...]string{"CREAT", "DIRECTORY", "EXCL", "TRUNC"}
	fdflagNames  = [...]string{"APPEND", "DSYNC", "NONBLOCK", "RSYNC", "SYNC"}
	fstflagNames = [...]string{"ATIM", "ATIM_NOW", "MTIM", "MTIM_NOW"}
	whenceNames  = [...]string{"SET", "CUR", "END"}
	adviceNames  = [...]string{"NORMAL", "SEQUENTIAL", "RANDOM", "WILLNEED", "DONTNEED", "NOREUSE"}
	clockNames   = [...]string{"REALTIME", "MONOTONIC", "PROCESS_CPUTIME_ID", "THREAD_CPUTIME_ID"}
	rightNames   = [...]string{
		"FD_DATASYNC", "FD_READ", "FD_SEEK", "FD_FDSTAT_SET_FLAGS", "FD_SYNC", "FD_TELL",
		"FD_WRITE", "FD_ADVISE", "FD_ALLOCATE", "PATH_CREATE_DIRECTORY", "PATH_CREATE_FILE",
		"PATH_LINK_SOURCE", "PATH_LINK_TARGET", "PATH_OPEN", "FD_READDIR", "PATH_READLINK",
		"PATH_RENAME_SOURCE", "PATH_RENAME_TARGET", "PATH_FILESTAT_GET",
		"PATH_FILESTAT_SET_SIZE", "PATH_FILESTAT_SET_TIMES", "FD_FILESTAT_GET",
		"FD_FILESTAT_SET_SIZE", "FD_FILESTAT_SET_TIMES", "PATH_SYMLINK", "PATH_REMOVE_DIRECTORY",
		"PATH_UNLINK_FILE", "POLL_FD_READWRITE", "SOCK_SHUTDOWN", "SOCK_ACCEPT",
	}
)

// procExitEntry is the proc_exit import: it traces the call when the calling Process traces,
// then exits (procExit).
func procExitEntry(ctx context.Context, mod api.Module, s []uint64) {
	if p := processFrom(ctx); p != nil && p.trace != nil {
		p.trace.traceExit(u32(s[0]))
	}
	procExit(ctx, mod, s)
}

// LockedWriter returns a writer that serialises the Writes of w with a mutex, for Config.Trace
// when several Processes share a writer that is not safe for concurrent use (a bytes.Buffer, a
// bufio.Writer). An *os.File needs none: each trace line is one Write, which the kernel does
// not interleave with another.
func LockedWriter(w io.Writer) io.Writer { return &lockedWriter{w: w} }

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
