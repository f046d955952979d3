package run

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wasmrun/wasmrun/vfs"
)

// errReported is returned by a subcommand that has already printed its errors: it only sets
// the exit status.
var errReported = errors.New("errors reported")

// reportf prints an error of a subcommand that goes on with its other arguments.
func (c *fsContext) reportf(cmd string, err error) {
	fmt.Fprintf(c.stderr, "wasmrun fs %s: %s\n", cmd, describeError(err))
}

// entry is one file of the store as ls, stat and du show it.
type entry struct {
	path   string // absolute store path
	name   string
	st     vfs.Stat
	target string // symlinks
}

// jsonEntry is an entry in --json output.
type jsonEntry struct {
	Path   string `json:"path"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Mode   string `json:"mode"`
	Size   int64  `json:"size"`
	Nlink  uint64 `json:"nlink"`
	Ino    uint64 `json:"ino"`
	Atime  string `json:"atime"`
	Mtime  string `json:"mtime"`
	Ctime  string `json:"ctime"`
	Target string `json:"target,omitempty"`
}

func jsonTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

func (e *entry) json() *jsonEntry {
	return &jsonEntry{
		Path: e.path, Name: e.name, Type: e.st.Type.String(), Mode: fmt.Sprintf("%04o", e.st.Mode),
		Size: e.st.Size, Nlink: e.st.Nlink, Ino: uint64(e.st.Ino),
		Atime: jsonTime(e.st.Atime), Mtime: jsonTime(e.st.Mtime), Ctime: jsonTime(e.st.Ctime),
		Target: e.target,
	}
}

// writeJSON writes v as one line of JSON.
func (c *fsContext) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = c.stdout.Write(append(b, '\n'))
	return err
}

// stat returns the entry at the store path p, following a final symlink if follow.
func (c *fsContext) stat(p string, follow bool) (*entry, error) {
	st, e := c.ns.StatAt(vfs.Node{}, p, follow)
	if e != 0 {
		return nil, perr(p, e)
	}
	en := &entry{path: p, name: path.Base(p), st: st}
	if st.Type == vfs.TypeSymlink {
		en.target, _ = c.ns.Readlink(vfs.Node{}, p)
	}
	return en, nil
}

// list returns the entries of the directory p, sorted by name, without "." and "..".
func (c *fsContext) list(p string) ([]*entry, error) {
	h, e := c.ns.Open(vfs.Node{}, p, vfs.ORead|vfs.ODirectory, 0)
	if e != 0 {
		return nil, perr(p, e)
	}
	defer h.File.Close()
	var names []string
	e = c.ns.ReadDir(h, 0, func(d *vfs.DirEntry) bool {
		if n := string(d.Name); n != "." && n != ".." {
			names = append(names, n)
		}
		return true
	})
	if e != 0 {
		return nil, perr(p, e)
	}
	slices.Sort(names)
	out := make([]*entry, 0, len(names))
	for _, n := range names {
		st, e := c.ns.StatAt(h.Node, n, false)
		if e == vfs.ENOENT {
			continue
		}
		if e != 0 {
			return nil, perr(path.Join(p, n), e)
		}
		en := &entry{path: path.Join(p, n), name: n, st: st}
		if st.Type == vfs.TypeSymlink {
			en.target, _ = c.ns.Readlink(h.Node, n)
		}
		out = append(out, en)
	}
	return out, nil
}

// modeString is ls's mode column: the type letter and rwx bits with s/S and t/T.
func modeString(st vfs.Stat) string {
	b := []byte("?rwxrwxrwx")
	switch st.Type {
	case vfs.TypeRegular:
		b[0] = '-'
	case vfs.TypeDir:
		b[0] = 'd'
	case vfs.TypeSymlink:
		b[0] = 'l'
	case vfs.TypeCharDevice:
		b[0] = 'c'
	case vfs.TypeBlockDevice:
		b[0] = 'b'
	case vfs.TypeSocketDgram, vfs.TypeSocketStrm:
		b[0] = 's'
	}
	for i := 0; i < 9; i++ {
		if st.Mode&(1<<(8-i)) == 0 {
			b[1+i] = '-'
		}
	}
	special := func(bit uint32, at int, set, unset byte) {
		if st.Mode&bit != 0 {
			if b[at] == '-' {
				b[at] = unset
			} else {
				b[at] = set
			}
		}
	}
	special(0o4000, 3, 's', 'S')
	special(0o2000, 6, 's', 'S')
	special(0o1000, 9, 't', 'T')
	return string(b)
}

// humanSize prints n bytes the way du -h does: 1023, 1.0K, 15M, 2.5G.
func humanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10)
	}
	f := float64(n)
	for _, u := range []string{"K", "M", "G", "T", "P", "E"} {
		f /= 1024
		if f < 1024 || u == "E" {
			if f < 10 {
				return strconv.FormatFloat(f, 'f', 1, 64) + u
			}
			return strconv.FormatFloat(f, 'f', 0, 64) + u
		}
	}
	return strconv.FormatInt(n, 10)
}

var cmdLs = &fsCommand{
	name:     "ls",
	synopsis: "[-l] [-R] [-a] [--json] [PATH...]",
	summary:  "list directories, or name files",
	help: `Without PATH it lists the store's root. Entries are sorted by name; names starting with "."
are left out unless -a is given. -l shows, for each entry, its type and mode, links, size,
modification time (local) and a symlink's target. --json prints every entry as one JSON object
a line, with all of that (times in UTC, RFC 3339) and its full path, without headers.`,
	access:  storeRead,
	maxArgs: -1,
	flags: func(fl *flag.FlagSet, o *fsOptions) {
		fl.BoolVar(&o.long, "l", false, "long format: mode, links, size, modification time, symlink target")
		fl.BoolVar(&o.recursive, "R", false, "list subdirectories too, recursively")
		fl.BoolVar(&o.all, "a", false, "show names that start with a dot")
		fl.BoolVar(&o.json, "json", false, "print one JSON object per entry")
	},
	run: runLs,
}

func runLs(c *fsContext, args []string) error {
	if len(args) == 0 {
		args = []string{"/"}
	}
	failed := false
	var files []*entry
	var dirs []string
	for _, a := range args {
		p := storePath(a)
		en, err := c.stat(p, !c.opts.long)
		if err != nil {
			c.reportf("ls", err)
			failed = true
			continue
		}
		if en.st.Type == vfs.TypeDir {
			dirs = append(dirs, p)
		} else {
			en.name = a
			files = append(files, en)
		}
	}
	if err := c.printEntries(files); err != nil {
		return err
	}
	headers := len(args) > 1 || c.opts.recursive
	first := len(files) == 0
	var listDir func(p string) error
	listDir = func(p string) error {
		entries, err := c.list(p)
		if err != nil {
			c.reportf("ls", err)
			failed = true
			return nil
		}
		if !c.opts.all {
			entries = slices.DeleteFunc(entries, func(e *entry) bool { return strings.HasPrefix(e.name, ".") })
		}
		if headers && !c.opts.json {
			if !first {
				fmt.Fprintln(c.stdout)
			}
			fmt.Fprintf(c.stdout, "%s:\n", p)
		}
		first = false
		if err := c.printEntries(entries); err != nil {
			return err
		}
		if c.opts.recursive {
			for _, e := range entries {
				if e.st.Type == vfs.TypeDir {
					if err := listDir(e.path); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	for _, d := range dirs {
		if err := listDir(d); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// printEntries prints entries as ls does: names, or -l lines, or JSON.
func (c *fsContext) printEntries(entries []*entry) error {
	var b strings.Builder
	if c.opts.json {
		for _, e := range entries {
			if err := c.writeJSON(e.json()); err != nil {
				return err
			}
		}
		return nil
	}
	if !c.opts.long {
		for _, e := range entries {
			b.WriteString(e.name + "\n")
		}
		_, err := io.WriteString(c.stdout, b.String())
		return err
	}
	wLinks, wSize := 1, 1
	for _, e := range entries {
		wLinks = max(wLinks, len(strconv.FormatUint(e.st.Nlink, 10)))
		wSize = max(wSize, len(strconv.FormatInt(e.st.Size, 10)))
	}
	for _, e := range entries {
		fmt.Fprintf(&b, "%s %*d %*d %s %s", modeString(e.st), wLinks, e.st.Nlink, wSize, e.st.Size,
			time.Unix(0, e.st.Mtime).Format("2006-01-02 15:04"), e.name)
		if e.st.Type == vfs.TypeSymlink {
			b.WriteString(" -> " + e.target)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(c.stdout, b.String())
	return err
}

var cmdTree = &fsCommand{
	name:     "tree",
	synopsis: "[-a] [PATH]",
	summary:  "show a directory tree",
	help:     `Symlinks are shown with their targets and not followed. The last line counts the directories (the top one not included) and the other entries.`,
	access:   storeRead,
	maxArgs:  1,
	flags: func(fl *flag.FlagSet, o *fsOptions) {
		fl.BoolVar(&o.all, "a", false, "show names that start with a dot")
	},
	run: func(c *fsContext, args []string) error {
		p := "/"
		if len(args) == 1 {
			p = storePath(args[0])
		}
		top, err := c.stat(p, true)
		if err != nil {
			return err
		}
		var b strings.Builder
		b.WriteString(p + "\n")
		var ndirs, nfiles int
		var walk func(p, indent string) error
		walk = func(p, indent string) error {
			entries, err := c.list(p)
			if err != nil {
				return err
			}
			if !c.opts.all {
				entries = slices.DeleteFunc(entries, func(e *entry) bool { return strings.HasPrefix(e.name, ".") })
			}
			for i, e := range entries {
				branch, more := "├── ", "│   "
				if i == len(entries)-1 {
					branch, more = "└── ", "    "
				}
				b.WriteString(indent + branch + e.name)
				if e.st.Type == vfs.TypeSymlink {
					b.WriteString(" -> " + e.target)
				}
				b.WriteString("\n")
				if e.st.Type == vfs.TypeDir {
					ndirs++
					if err := walk(e.path, indent+more); err != nil {
						return err
					}
				} else {
					nfiles++
				}
			}
			return nil
		}
		if top.st.Type == vfs.TypeDir {
			if err := walk(p, ""); err != nil {
				return err
			}
		}
		fmt.Fprintf(&b, "\n%d %s, %d %s\n", ndirs, plural(ndirs, "directory", "directories"), nfiles, plural(nfiles, "file", "files"))
		_, err = io.WriteString(c.stdout, b.String())
		return err
	},
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

var cmdStat = &fsCommand{
	name:     "stat",
	synopsis: "[-L] [--json] PATH...",
	summary:  "show the metadata of files",
	help:     `A final symlink is shown itself unless -L is given. --json prints one JSON object a path (the fields of ls --json).`,
	access:   storeRead,
	minArgs:  1,
	maxArgs:  -1,
	flags: func(fl *flag.FlagSet, o *fsOptions) {
		fl.BoolVar(&o.follow, "L", false, "follow a final symlink")
		fl.BoolVar(&o.json, "json", false, "print one JSON object per path")
	},
	run: func(c *fsContext, args []string) error {
		failed := false
		for i, a := range args {
			e, err := c.stat(storePath(a), c.opts.follow)
			if err != nil {
				c.reportf("stat", err)
				failed = true
				continue
			}
			if c.opts.json {
				if err := c.writeJSON(e.json()); err != nil {
					return err
				}
				continue
			}
			var b strings.Builder
			if i > 0 {
				b.WriteString("\n")
			}
			ts := func(ns int64) string { return time.Unix(0, ns).Format("2006-01-02 15:04:05.000000000 -0700") }
			fmt.Fprintf(&b, "  Path: %s\n  Type: %s\n  Size: %d\n Inode: %d  Links: %d\n  Mode: %04o (%s)\n",
				e.path, e.st.Type, e.st.Size, e.st.Ino, e.st.Nlink, e.st.Mode, modeString(e.st))
			if e.st.Type == vfs.TypeSymlink {
				fmt.Fprintf(&b, "Target: %s\n", e.target)
			}
			fmt.Fprintf(&b, "Access: %s\nModify: %s\nChange: %s\n", ts(e.st.Atime), ts(e.st.Mtime), ts(e.st.Ctime))
			if _, err := io.WriteString(c.stdout, b.String()); err != nil {
				return err
			}
		}
		if failed {
			return errReported
		}
		return nil
	},
}

var cmdDu = &fsCommand{
	name:     "du",
	synopsis: "[-s] [--human-readable] [--json] [PATH...]",
	summary:  "sum the sizes of trees",
	help: `For each PATH (the root by default) it prints the bytes of file data below each directory,
then the total for PATH: apparent sizes (a hole in a sparse file counts, although the store does
not keep it), symlinks by the length of their targets, a file with several hard links once.
--json prints {"path", "bytes", "files", "dirs"} objects, one a line.`,
	access:  storeRead,
	maxArgs: -1,
	flags: func(fl *flag.FlagSet, o *fsOptions) {
		fl.BoolVar(&o.summarize, "s", false, "print only the total of each PATH")
		fl.BoolVar(&o.human, "human-readable", false, "sizes with K, M, G suffixes (powers of 1024); -h is help, as in\n"+
			"every subcommand")
		fl.BoolVar(&o.json, "json", false, "print one JSON object per line")
	},
	run: runDu,
}

type duTotal struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
	Files int64  `json:"files"`
	Dirs  int64  `json:"dirs"`
}

func runDu(c *fsContext, args []string) error {
	if len(args) == 0 {
		args = []string{"/"}
	}
	failed := false
	print := func(t *duTotal) error {
		if c.opts.json {
			return c.writeJSON(t)
		}
		size := strconv.FormatInt(t.Bytes, 10)
		if c.opts.human {
			size = humanSize(t.Bytes)
		}
		_, err := fmt.Fprintf(c.stdout, "%s\t%s\n", size, t.Path)
		return err
	}
	seen := map[vfs.Ino]bool{}
	var walk func(e *entry, top bool) (duTotal, error)
	walk = func(e *entry, top bool) (duTotal, error) {
		t := duTotal{Path: e.path}
		if e.st.Type != vfs.TypeDir {
			if e.st.Nlink > 1 {
				if seen[e.st.Ino] {
					return t, nil
				}
				seen[e.st.Ino] = true
			}
			t.Bytes, t.Files = e.st.Size, 1
			if top {
				return t, print(&t)
			}
			return t, nil
		}
		t.Dirs = 1
		entries, err := c.list(e.path)
		if err != nil {
			c.reportf("du", err)
			failed = true
		}
		for _, ch := range entries {
			sub, err := walk(ch, false)
			if err != nil {
				return t, err
			}
			t.Bytes += sub.Bytes
			t.Files += sub.Files
			t.Dirs += sub.Dirs
		}
		if top || !c.opts.summarize {
			return t, print(&t)
		}
		return t, nil
	}
	for _, a := range args {
		e, err := c.stat(storePath(a), true)
		if err != nil {
			c.reportf("du", err)
			failed = true
			continue
		}
		if _, err := walk(e, true); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

var cmdCat = &fsCommand{
	name:     "cat",
	synopsis: "PATH...",
	summary:  "copy files to standard output",
	access:   storeRead,
	minArgs:  1,
	maxArgs:  -1,
	run: func(c *fsContext, args []string) error {
		for _, a := range args {
			p := storePath(a)
			f, err := c.fsys.Open(ioName(p))
			if err != nil {
				return unwrapPathError(p, err)
			}
			_, err = io.Copy(c.stdout, f)
			f.Close()
			if err != nil {
				return unwrapPathError(p, err)
			}
		}
		return nil
	},
}

// unwrapPathError turns an io/fs error about a store file into a *pathError naming its store
// path.
func unwrapPathError(p string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &pathError{p, pe.Err}
	}
	return err
}

var cmdGet = &fsCommand{
	name:     "get",
	synopsis: "PATH [HOST]",
	summary:  "copy a file out of the store",
	help: `HOST is the file to write (replaced if it exists), or a directory to write into, or - for
standard output; by default it is PATH's base name in the current directory. The file keeps its
permission bits and modification time. Use export for a whole tree.`,
	access:  storeRead,
	minArgs: 1,
	maxArgs: 2,
	run: func(c *fsContext, args []string) error {
		p := storePath(args[0])
		f, err := c.fsys.Open(ioName(p))
		if err != nil {
			return unwrapPathError(p, err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return unwrapPathError(p, err)
		}
		if fi.IsDir() {
			return fmt.Errorf("%s: is a directory (use wasmrun fs export for a tree)", p)
		}
		dest := path.Base(p)
		if len(args) == 2 {
			dest = args[1]
		}
		if dest == "-" {
			_, err := io.Copy(c.stdout, f)
			return unwrapPathError(p, err)
		}
		if st, err := os.Stat(dest); err == nil && st.IsDir() {
			dest = filepath.Join(dest, path.Base(p))
		}
		out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
		if err != nil {
			return err
		}
		bar := c.progress("get "+path.Base(p), fi.Size())
		_, err = io.Copy(out, &countingReader{r: f, bar: bar})
		bar.finish()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return unwrapPathError(p, err)
		}
		if err := os.Chmod(dest, fsPerm(fi.Mode())); err != nil {
			return err
		}
		return os.Chtimes(dest, time.Time{}, fi.ModTime())
	},
}

// fsPerm keeps the permission, setuid, setgid and sticky bits of m.
func fsPerm(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// modeFlag is an octal mode flag (-m), checked by parseMode when it is parsed, so that a bad
// mode is a command-line mistake.
type modeFlag string

func (m *modeFlag) String() string { return string(*m) }

func (m *modeFlag) Set(s string) error {
	if _, err := parseMode(s); err != nil {
		return err
	}
	*m = modeFlag(s)
	return nil
}

// parseMode parses an octal mode such as 755 or 0644.
func parseMode(s string) (fs.FileMode, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("bad mode %q: want octal permission bits such as 644 or 0755", s)
	}
	m := fs.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m, nil
}

var cmdPut = &fsCommand{
	name:     "put",
	synopsis: "[-p] [-m MODE] HOST PATH",
	summary:  "copy a host file (or standard input) into the store",
	help: `HOST is a file, or - for standard input. PATH is the file to write (replaced if it exists),
or an existing directory (or one given with a trailing /) to write HOST's base name into. The
file gets HOST's permission bits and modification time (0644 and now for standard input) unless
-m says otherwise. Use import for a whole tree. The store is created if it does not exist.`,
	access:  storeCreate,
	minArgs: 2,
	maxArgs: 2,
	flags: func(fl *flag.FlagSet, o *fsOptions) {
		fl.BoolVar(&o.parents, "p", false, "create missing parent directories")
		fl.Var((*modeFlag)(&o.mode), "m", "the file's mode, in octal (such as 0600)")
	},
	run: func(c *fsContext, args []string) error {
		src, dest := args[0], storePath(args[1])
		var (
			r     io.Reader = c.stdin
			mode  fs.FileMode
			mtime       = time.Now()
			size  int64 = -1
		)
		mode = 0o644
		if src != "-" {
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			if fi.IsDir() {
				return fmt.Errorf("%s: is a directory (use wasmrun fs import for a tree)", src)
			}
			r, mode, mtime, size = f, fsPerm(fi.Mode()), fi.ModTime(), fi.Size()
		}
		if c.opts.mode != "" {
			m, err := parseMode(c.opts.mode)
			if err != nil {
				return err
			}
			mode = m
		}
		if st, e := c.ns.StatAt(vfs.Node{}, dest, true); strings.HasSuffix(args[1], "/") || e == 0 && st.Type == vfs.TypeDir {
			if src == "-" {
				return fmt.Errorf("%s: is a directory: give the file name for standard input", dest)
			}
			dest = path.Join(dest, filepath.Base(src))
		}
		if c.opts.parents {
			if err := c.fsys.MkdirAll(ioName(path.Dir(dest)), 0o755); err != nil {
				return unwrapPathError(path.Dir(dest), err)
			}
		}
		out, err := c.fsys.OpenFile(ioName(dest), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
		if err != nil {
			return unwrapPathError(dest, err)
		}
		bar := c.progress("put "+path.Base(dest), size)
		_, err = io.Copy(out, &countingReader{r: r, bar: bar})
		bar.finish()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = c.fsys.Chmod(ioName(dest), mode)
		}
		if err == nil {
			err = c.fsys.Chtimes(ioName(dest), time.Time{}, mtime)
		}
		return unwrapPathError(dest, err)
	},
}

var cmdMkdir = &fsCommand{
	name:     "mkdir",
	synopsis: "[-p] [-m MODE] PATH...",
	summary:  "make directories",
	help:     `The store is created if it does not exist.`,
	access:   storeCreate,
	minArgs:  1,
	maxArgs:  -1,
	flags: func(fl *flag.FlagSet, o *fsOptions) {
		fl.BoolVar(&o.parents, "p", false, "create missing parents; an existing directory is no error")
		o.mode = "0755"
		fl.Var((*modeFlag)(&o.mode), "m", "the mode of new directories, in octal")
	},
	run: func(c *fsContext, args []string) error {
		mode, err := parseMode(c.opts.mode)
		if err != nil {
			return err
		}
		for _, a := range args {
			p := storePath(a)
			if c.opts.parents {
				err = c.fsys.MkdirAll(ioName(p), mode)
			} else {
				err = c.fsys.Mkdir(ioName(p), mode)
			}
			if err != nil {
				return unwrapPathError(p, err)
			}
		}
		return nil
	},
}

var cmdRm = &fsCommand{
	name:     "rm",
	synopsis: "[-r] [-f] PATH...",
	summary:  "remove files and directories",
	help: `Without -r only files, symlinks (never what they point to) and empty directories are
removed. The root of the store cannot be removed.`,
	access:  storeWrite,
	minArgs: 1,
	maxArgs: -1,
	flags: func(fl *flag.FlagSet, o *fsOptions) {
		fl.BoolVar(&o.recursive, "r", false, "remove directories and everything in them")
		fl.BoolVar(&o.force, "f", false, "a missing PATH is not an error")
	},
	run: func(c *fsContext, args []string) error {
		for _, a := range args {
			p := storePath(a)
			if p == "/" {
				return errors.New("refusing to remove the root of the store (delete the store file instead)")
			}
			st, e := c.ns.StatAt(vfs.Node{}, p, false)
			if e == vfs.ENOENT && c.opts.force {
				continue
			}
			if e != 0 {
				return perr(p, e)
			}
			var err error
			switch {
			case st.Type == vfs.TypeDir && c.opts.recursive:
				err = c.fsys.RemoveAll(ioName(p))
			case st.Type == vfs.TypeDir:
				e = c.ns.Remove(vfs.Node{}, p, true)
				if e == vfs.ENOTEMPTY {
					return fmt.Errorf("%s: directory not empty (use -r)", p)
				}
				err = perr(p, e)
			default:
				err = perr(p, c.ns.Remove(vfs.Node{}, p, false))
			}
			if err != nil {
				return unwrapPathError(p, err)
			}
		}
		return nil
	},
}

var cmdMv = &fsCommand{
	name:     "mv",
	synopsis: "SOURCE... DEST",
	summary:  "move or rename files and directories",
	help: `With one SOURCE, DEST is its new name (an existing file there is replaced, atomically), or an
existing directory to move it into. With several, DEST must be a directory.`,
	access:  storeWrite,
	minArgs: 2,
	maxArgs: -1,
	run: func(c *fsContext, args []string) error {
		dest := storePath(args[len(args)-1])
		st, e := c.ns.StatAt(vfs.Node{}, dest, true)
		destDir := e == 0 && st.Type == vfs.TypeDir
		srcs := args[:len(args)-1]
		if len(srcs) > 1 && !destDir {
			return fmt.Errorf("%s: not a directory (moving several files)", dest)
		}
		for _, a := range srcs {
			src := storePath(a)
			to := dest
			if destDir {
				to = path.Join(dest, path.Base(src))
			}
			if e := c.ns.Rename(vfs.Node{}, src, vfs.Node{}, to); e != 0 {
				return fmt.Errorf("%s -> %s: %w", src, to, e)
			}
		}
		return nil
	},
}
