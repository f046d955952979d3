package run

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	wasmrt "github.com/wasmrun/wasmrun/runtime"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
)

// Exit statuses of `wasmrun fs`.
const (
	fsExitFail  = 1 // a subcommand failed, or fsck found damage
	fsExitUsage = 2 // a command-line mistake
)

// storeAccess is how a subcommand opens the store.
type storeAccess int

const (
	storeRead   storeAccess = iota // shared, read-only; a missing store is an error
	storeWrite                     // exclusive; a missing store is an error
	storeCreate                    // exclusive; a missing store is created
	storeSelf                      // the subcommand opens the store itself
)

// fsCommand is one `wasmrun fs` subcommand.
type fsCommand struct {
	name     string
	synopsis string // flags and arguments, for the usage lines
	summary  string // one line
	help     string // more, for `wasmrun fs help NAME`
	access   storeAccess
	minArgs  int
	maxArgs  int // -1: any number
	flags    func(fl *flag.FlagSet, o *fsOptions)
	run      func(c *fsContext, args []string) error
}

// fsOptions are the flags of the subcommands; each subcommand defines the ones it has.
type fsOptions struct {
	store       string
	lockTimeout time.Duration

	json      bool   // ls, stat, du
	long      bool   // ls -l
	recursive bool   // ls -R, rm -r
	all       bool   // ls -a, tree -a
	force     bool   // rm -f, backup -f
	parents   bool   // mkdir -p, put -p
	mode      string // mkdir -m, put -m
	summarize bool   // du -s
	human     bool   // du --human-readable
	follow    bool   // stat -L
	output    string // export -o
	gzip      bool   // export -z
}

// fsContext is what a running subcommand works with.
type fsContext struct {
	opts   fsOptions
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	tty    bool // stderr is a terminal: show progress bars

	defaultStore bool // the store is the default one (its directory may be created)

	store *stable.FS     // the open store (nil for storeSelf)
	ns    *vfs.Namespace // the store alone, at "/"
	fsys  *wasmrt.FS     // ns with io/fs names
}

// fsCommands lists the subcommands in the order the help shows them.
var fsCommands []*fsCommand

func init() {
	fsCommands = []*fsCommand{
		cmdLs, cmdTree, cmdStat, cmdDu, cmdCat, cmdGet,
		cmdPut, cmdMkdir, cmdRm, cmdMv,
		cmdExport, cmdImport,
		cmdFsck, cmdRecover, cmdCompact, cmdBackup,
	}
}

func findFSCommand(name string) *fsCommand {
	for _, c := range fsCommands {
		if c.name == name {
			return c
		}
	}
	return nil
}

const fsUsageHead = `wasmrun fs works on a store file: the filesystem wasmrun mounts at / (--store) or at another
guest path (--mount GUEST=stable:FILE). It lists the store, copies files in and out, moves whole
trees in and out as tar archives (also the way to bring in data that lived in a RAM filesystem
before: export it as a tar or a directory, then import it), checks the store, compacts it and
backs it up.

Usage:
  wasmrun fs SUBCOMMAND [flags] [ARGS...]
  wasmrun fs help SUBCOMMAND

Subcommands:
`

const fsUsageTail = `
PATH is a path inside the store, from the store's root: data/x and /data/x are the same file
(for a store mounted with --mount /m=stable:FILE, the guest sees it as /m/data/x). HOST is a
path on this machine, and - is standard input or output. Flags may come before or after the
arguments; -- ends the flags; one-letter flags combine (ls -la is ls -l -a). -h and --help
print the help of every subcommand (du's human-readable sizes are --human-readable).

Reading subcommands (ls, tree, stat, du, cat, get, export, fsck, backup) open the store
read-only and share it with other readers: wasmrun processes that mount it with :ro, other
wasmrun fs readers. They fail with "no store at FILE" if it does not exist. Writing subcommands
(put, mkdir, rm, mv, import, compact) need the store to themselves; put, mkdir and import create
it if it does not exist. A store in use by a wasmrun process that writes to it is locked: a
subcommand waits --lock-timeout for it and then fails.

Import, export, compact and backup show a progress bar when standard error is a terminal, and
are quiet otherwise. ls, stat and du print JSON with --json: one object per line.

Exit status: 0 on success; 1 when a subcommand failed (a missing store or path, a locked or
damaged store, a refused archive...) or fsck found damage; 2 for a command-line mistake.
`

// fsMain is `wasmrun fs ARGS...`: it returns the exit status.
func fsMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "wasmrun fs: "+format+"\nRun 'wasmrun fs --help' for usage.\n", a...)
		return fsExitUsage
	}
	// Flags before the subcommand: the common ones only.
	var opts fsOptions
	pre := newFSFlagSet("fs", &opts)
	help := pre.Bool("h", false, "")
	pre.BoolVar(help, "help", false, "")
	if err := parseFlags(pre, args); err != nil {
		return usageErr("%v", err)
	}
	args = pre.Args()
	if *help || len(args) == 0 || args[0] == "help" && len(args) == 1 {
		if !*help && len(args) == 0 {
			printFSUsage(stderr)
			return fsExitUsage
		}
		printFSUsage(stdout)
		return 0
	}
	if args[0] == "help" {
		cmd := findFSCommand(args[1])
		if cmd == nil {
			return usageErr("no subcommand %q", args[1])
		}
		printFSCommandUsage(stdout, cmd)
		return 0
	}
	cmd := findFSCommand(args[0])
	if cmd == nil {
		return usageErr("no subcommand %q", args[0])
	}
	explicitStore := false
	pre.Visit(func(f *flag.Flag) { explicitStore = explicitStore || f.Name == "store" })

	preSet := map[string]string{} // flags before SUBCOMMAND (fl is bound to the same opts)
	pre.Visit(func(f *flag.Flag) { preSet[f.Name] = f.Value.String() })
	fl := newFSFlagSet(cmd.name, &opts)
	for name, v := range preSet {
		fl.Set(name, v)
	}
	if cmd.flags != nil {
		cmd.flags(fl, &opts)
	}
	cmdHelp := false
	fl.BoolVar(&cmdHelp, "h", false, "print this help and exit")
	fl.BoolVar(&cmdHelp, "help", false, "print this help and exit")
	pos, err := parseInterleaved(fl, args[1:])
	if err != nil {
		return usageErr("%s: %v", cmd.name, err)
	}
	if cmdHelp {
		printFSCommandUsage(stdout, cmd)
		return 0
	}
	fl.Visit(func(f *flag.Flag) { explicitStore = explicitStore || f.Name == "store" })
	if len(pos) < cmd.minArgs || cmd.maxArgs >= 0 && len(pos) > cmd.maxArgs {
		return usageErr("%s: wrong number of arguments: usage: wasmrun fs %s %s", cmd.name, cmd.name, cmd.synopsis)
	}
	if opts.store == "" {
		_, err := wasmrt.DefaultStorePath()
		return usageErr("%v", err)
	}

	c := &fsContext{opts: opts, stdin: stdin, stdout: stdout, stderr: stderr, tty: isTerminal(stderr),
		defaultStore: !explicitStore}
	fail := func(err error) int {
		msg := describeError(err)
		if cmd == cmdBackup && errors.Is(err, stable.ErrLocked) && len(backupSignals) > 0 {
			msg += "\nThe wasmrun that writes to it can take a consistent backup itself: kill -USR1 <its process id> writes " + opts.store + ".backup"
		}
		fmt.Fprintf(stderr, "wasmrun fs %s: %s\n", cmd.name, msg)
		return fsExitFail
	}
	if cmd.access != storeSelf {
		if err := c.open(cmd.access, c.defaultStore); err != nil {
			return fail(err)
		}
	}
	err = cmd.run(c, pos)
	if c.ns != nil {
		if cerr := c.ns.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing the store: %w", cerr)
		}
	}
	if err != nil {
		if errors.Is(err, errReported) {
			return fsExitFail // the errors are out already
		}
		return fail(err)
	}
	return 0
}

// newFSFlagSet returns a FlagSet with the flags every subcommand has.
func newFSFlagSet(name string, o *fsOptions) *flag.FlagSet {
	defaultStore, err := wasmrt.DefaultStorePath()
	if err != nil {
		defaultStore = ""
	}
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	fl.StringVar(&o.store, "store", defaultStore, "the store file ($WASMRUN_STORE changes the default)")
	o.lockTimeout = stable.DefaultLockTimeout
	fl.Var((*durationFlag)(&o.lockTimeout), "lock-timeout",
		"wait this long for another process to release the store; 0 tries once")
	return fl
}

// parseInterleaved parses flags anywhere among the arguments (until "--") and returns the
// arguments that are not flags.
func parseInterleaved(fl *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if err := parseFlags(fl, args); err != nil {
			return nil, err
		}
		rest := fl.Args()
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return pos, nil
}

// fsArgNames names the argument of each flag that takes one, in the help text.
var fsArgNames = map[string]string{
	"store":        "FILE",
	"lock-timeout": "DURATION",
	"m":            "MODE",
	"o":            "FILE",
}

func printFSUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString(fsUsageHead)
	for _, c := range fsCommands {
		line := "  " + c.name + " " + c.synopsis
		if len(line) > 44 {
			fmt.Fprintf(&b, "%s\n  %-44s%s\n", line, "", c.summary)
		} else {
			fmt.Fprintf(&b, "%-46s%s\n", line, c.summary)
		}
	}
	b.WriteString("\nFlags of every subcommand:\n")
	var o fsOptions
	writeFlags(&b, newFSFlagSet("fs", &o))
	b.WriteString("  -h, --help\n        print the help (of a subcommand: wasmrun fs SUBCOMMAND -h) and exit\n")
	b.WriteString(fsUsageTail)
	io.WriteString(w, b.String())
}

func printFSCommandUsage(w io.Writer, c *fsCommand) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: wasmrun fs %s %s\n\n%s.\n", c.name, c.synopsis, upperFirst(c.summary))
	if c.help != "" {
		b.WriteString("\n" + c.help + "\n")
	}
	var o fsOptions
	fl := newFSFlagSet(c.name, &o)
	if c.flags != nil {
		c.flags(fl, &o)
	}
	b.WriteString("\nFlags:\n")
	writeFlags(&b, fl)
	b.WriteString("  -h, --help\n        print this help and exit\n")
	io.WriteString(w, b.String())
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// writeFlags writes the flags of fl, long ones with "--", one-letter ones with "-".
func writeFlags(b *strings.Builder, fl *flag.FlagSet) {
	var names []string
	fl.VisitAll(func(f *flag.Flag) {
		if f.Name != "h" && f.Name != "help" {
			names = append(names, f.Name)
		}
	})
	// The subcommand's own flags first, one-letter ones before the others, then the common
	// ones.
	rank := func(n string) int {
		switch {
		case n == "store":
			return 3
		case n == "lock-timeout":
			return 4
		case len(n) == 1:
			return 1
		}
		return 2
	}
	sort.SliceStable(names, func(i, j int) bool { return rank(names[i]) < rank(names[j]) })
	for _, n := range names {
		f := fl.Lookup(n)
		dash := "--"
		if len(n) == 1 {
			dash = "-"
		}
		fmt.Fprintf(b, "  %s%s", dash, n)
		if a := fsArgNames[n]; a != "" {
			fmt.Fprintf(b, " %s", a)
		}
		b.WriteString("\n")
		for _, line := range strings.Split(f.Usage, "\n") {
			fmt.Fprintf(b, "        %s\n", line)
		}
		if d := f.DefValue; d != "" && d != "0" && d != "0s" && d != "false" {
			fmt.Fprintf(b, "        (default %s)\n", d)
		}
	}
}

// open opens the store as access says. defaultStore says the path is the default one, whose
// directory is created as wasmrun creates it.
func (c *fsContext) open(access storeAccess, defaultStore bool) error {
	p := c.opts.store
	var st os.FileInfo
	var err error
	if !stable.IsURL(p) { // a store in etcd: opening it says whether it exists
		st, err = os.Stat(p)
	}
	switch {
	case st == nil && err == nil:
	case errors.Is(err, fs.ErrNotExist) && access == storeCreate:
		if defaultStore {
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return fmt.Errorf("create the store directory: %w", err)
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no store at %s", p)
	case err != nil:
		return err
	case st.IsDir():
		return fmt.Errorf("%s is a directory, not a store file", p)
	}
	timeout := c.opts.lockTimeout
	if timeout <= 0 {
		timeout = -1
	}
	f, err := stable.Open(p, stable.Options{ReadOnly: access == storeRead, LockTimeout: timeout})
	if err != nil {
		return err
	}
	c.store = f
	c.ns = vfs.NewNamespace(f)
	c.fsys = wasmrt.NewFS(c.ns)
	return nil
}

// storePath cleans a PATH argument into an absolute store path.
func storePath(p string) string {
	return path.Clean("/" + p)
}

// ioName turns an absolute store path into an io/fs name.
func ioName(p string) string {
	if p == "/" {
		return "."
	}
	return p[1:]
}

// errnoText is the strerror text of the errnos a user meets.
var errnoText = map[vfs.Errno]string{
	vfs.ENOENT:       "no such file or directory",
	vfs.EEXIST:       "file exists",
	vfs.ENOTDIR:      "not a directory",
	vfs.EISDIR:       "is a directory",
	vfs.ENOTEMPTY:    "directory not empty",
	vfs.EROFS:        "read-only file system",
	vfs.EXDEV:        "cross-device link",
	vfs.EBUSY:        "device or resource busy",
	vfs.EINVAL:       "invalid argument",
	vfs.ENAMETOOLONG: "file name too long",
	vfs.ELOOP:        "too many levels of symbolic links",
	vfs.ENOSPC:       "no space left on device",
	vfs.EPERM:        "operation not permitted",
	vfs.EACCES:       "permission denied",
	vfs.EIO:          "input/output error",
	vfs.EMLINK:       "too many links",
	vfs.EFBIG:        "file too large",
}

// describeError is the message of err for a person: errnos in words, and a hint for a locked
// store.
func describeError(err error) string {
	msg := err.Error()
	var e vfs.Errno
	if errors.As(err, &e) {
		if text, ok := errnoText[e]; ok {
			msg = strings.Replace(msg, e.Name(), text+" ("+e.Name()+")", 1)
		}
	}
	if errors.Is(err, stable.ErrLocked) {
		msg += " (a wasmrun process is using it: wait for it to exit, or give a longer --lock-timeout)"
	}
	if h := damageHint(err); h != "" {
		msg += " (" + h + ")"
	}
	return msg
}

// pathError is an errno about a path of the store: "PATH: ENOENT".
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// perr returns nil for ESUCCESS, else a *pathError.
func perr(p string, e vfs.Errno) error {
	if e == 0 {
		return nil
	}
	return &pathError{p, e}
}
