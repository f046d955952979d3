package run

import (
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wasmrun/wasmrun/internal/tarfs"
	"github.com/wasmrun/wasmrun/stable"
	"github.com/wasmrun/wasmrun/vfs"
	"github.com/wasmrun/wasmrun/vfs/hostfs"
	"github.com/wasmrun/wasmrun/vfs/readonly"
)

// summary describes what an export or import moved.
func summary(s tarfs.Stats) string {
	msg := fmt.Sprintf("%d %s, %d %s, %d %s, %d hard %s, %s bytes",
		s.Files, plural(int(s.Files), "file", "files"),
		s.Dirs, plural(int(s.Dirs), "directory", "directories"),
		s.Symlinks, plural(int(s.Symlinks), "symlink", "symlinks"),
		s.Links, plural(int(s.Links), "link", "links"),
		humanSize(s.Bytes))
	if s.Skipped > 0 {
		msg += fmt.Sprintf(" (%d skipped)", s.Skipped)
	}
	return msg
}

func (c *fsContext) warn(msg string) { fmt.Fprintf(c.stderr, "wasmrun fs: warning: %s\n", msg) }

var cmdExport = &fsCommand{
	name:     "export",
	synopsis: "[-o FILE] [-z] [PATH]",
	summary:  "write a tree of the store as a tar archive",
	help: `The archive holds PATH (the root by default) and everything below it, named relative to PATH
("./", "./a", "./a/b"...): files, directories, symlinks and hard links, with their permission
bits (setuid, setgid and sticky included) and their access and modification times to the
nanosecond (PAX format). Any tar reads it, and import takes it back. It goes to standard
output (not a terminal) unless -o names a file, which is written under a temporary name and
renamed when complete. -z, or a FILE ending in .gz or .tgz, compresses it with gzip.`,
	access:  storeRead,
	maxArgs: 1,
	flags: func(fl *flag.FlagSet, o *fsOptions) {
		fl.StringVar(&o.output, "o", "", "write the archive to FILE instead of standard output")
		fl.BoolVar(&o.gzip, "z", false, "compress with gzip")
	},
	run: func(c *fsContext, args []string) (err error) {
		root := "/"
		if len(args) == 1 {
			root = storePath(args[0])
		}
		if _, e := c.ns.StatAt(vfs.Node{}, root, true); e != 0 {
			return perr(root, e)
		}
		out := c.opts.output
		var w io.Writer = c.stdout
		var file *os.File
		if out == "" || out == "-" {
			if isTerminal(c.stdout) {
				return errors.New("refusing to write a tar archive to a terminal: give -o FILE, or redirect standard output")
			}
		} else {
			file, err = os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".tmp-*")
			if err != nil {
				return err
			}
			defer func() {
				if file != nil {
					file.Close()
					os.Remove(file.Name())
				}
			}()
			w = file
		}
		var zw *gzip.Writer
		if c.opts.gzip || strings.HasSuffix(out, ".gz") || strings.HasSuffix(out, ".tgz") {
			zw = gzip.NewWriter(w)
			w = zw
		}
		var total int64 = -1
		if c.tty {
			if s, err := tarfs.Walk(c.ns, root); err == nil {
				total = s.Bytes
			}
		}
		bar := c.progress("export", total)
		s, err := tarfs.Export(w, c.ns, root, tarfs.Options{Progress: bar.set, Warn: c.warn})
		bar.finish()
		if err != nil {
			return err
		}
		if zw != nil {
			if err := zw.Close(); err != nil {
				return err
			}
		}
		if file == nil {
			return nil
		}
		if err := file.Sync(); err != nil {
			return err
		}
		if err := file.Close(); err != nil {
			return err
		}
		if err := os.Rename(file.Name(), out); err != nil {
			return err
		}
		file = nil
		fmt.Fprintf(c.stdout, "exported %s from %s to %s\n", summary(s), root, out)
		return nil
	},
}

var cmdImport = &fsCommand{
	name:     "import",
	synopsis: "SOURCE [PATH]",
	summary:  "read a tar archive or a host directory into the store",
	help: `SOURCE is a tar archive (plain or gzip-compressed, found by its content), - for an archive on
standard input, or a host directory. Its contents go into the directory PATH of the store (the
root by default), created if missing; existing entries of the same names are replaced, as tar
does. Files, directories, symlinks and hard links are kept with their modes and times; device
files, FIFOs and sockets are skipped with a warning. The store is created if it does not exist.

This is also how data kept in another filesystem comes into the store, for example a RAM
filesystem an application used before: write it out as a tar archive or a directory, and import
it.

An archive cannot write outside PATH: an entry with an absolute name or a ".." element, one
whose path goes through a symlink, or a hard link to something that is not an earlier entry of
the archive is refused and the import stops. An archive in a file is checked through before
the store is opened, so a refused archive changes nothing; one on standard input is checked as
it is read, and the entries before the refused one stay imported.`,
	access:  storeSelf,
	minArgs: 1,
	maxArgs: 2,
	run:     runImport,
}

func runImport(c *fsContext, args []string) error {
	target := "/"
	if len(args) == 2 {
		target = storePath(args[1])
	}
	src := args[0]
	var (
		r     io.Reader
		total int64 = -1
		host  *vfs.Namespace
	)
	switch st, err := os.Stat(src); {
	case src == "-":
		r = c.stdin
	case err != nil:
		return err
	case st.IsDir():
		h, err := hostfs.New(src)
		if err != nil {
			return err
		}
		host = vfs.NewNamespace(readonly.New(h))
		defer host.Close()
		if c.tty {
			if s, err := tarfs.Walk(host, "/"); err == nil {
				total = s.Bytes
			}
		}
	default:
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := tarfs.Check(f); err != nil {
			return fmt.Errorf("%s: %w; nothing imported", src, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		r, total = f, st.Size()
	}
	if err := c.open(storeCreate, c.defaultStore); err != nil {
		return err
	}
	var (
		s   tarfs.Stats
		err error
	)
	if host != nil {
		bar := c.progress("import", total)
		s, err = tarfs.Copy(c.ns, target, host, "/", tarfs.Options{Progress: bar.set, Warn: c.warn})
		bar.finish()
	} else {
		// The bar counts the archive's bytes read, against its size when it is a file.
		bar := c.progress("import", total)
		s, err = tarfs.Import(c.ns, target, &countingReader{r: r, bar: bar}, tarfs.Options{Warn: c.warn})
		bar.finish()
	}
	if err != nil {
		return fmt.Errorf("%s: %w (imported before it: %s)", src, err, summary(s))
	}
	fmt.Fprintf(c.stdout, "imported %s from %s into %s\n", summary(s), src, target)
	return nil
}

// mustExist checks, for a storeSelf subcommand, that the store file exists.
func (c *fsContext) mustExist() error {
	if stable.IsURL(c.opts.store) {
		return nil // opening it says (a read-only open of an empty name is ErrNotStore)
	}
	st, err := os.Stat(c.opts.store)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no store at %s", c.opts.store)
	case err != nil:
		return err
	case st.IsDir():
		return fmt.Errorf("%s is a directory, not a store file", c.opts.store)
	}
	return nil
}

func (c *fsContext) lockTimeout() time.Duration {
	if c.opts.lockTimeout <= 0 {
		return -1
	}
	return c.opts.lockTimeout
}

var cmdFsck = &fsCommand{
	name:     "fsck",
	synopsis: "",
	summary:  "check every invariant of the store",
	help: `It reads the whole store, read-only (nothing is changed, not even on damage), and prints what it
holds and every problem found, one a line: the superblock and its counters, every inode and
directory entry, link counts, reachability from the root, the orphan list, the file pages, and
bbolt's own check of its pages. It reads the store's write-ahead log too: a log torn at its end
by a crash is normal (its last record was never reported durable), a damaged one (a bad record
with valid ones after it, a damaged header) is reported, with how much it would lose, and the
store cannot be opened until recover accepts the loss. The exit status is 1 if anything is
wrong, or if the file cannot be opened as a store at all (not a store, damaged beyond opening, a
damaged log, a newer format).`,
	access: storeSelf,
	run: func(c *fsContext, _ []string) error {
		if err := c.mustExist(); err != nil {
			return err
		}
		p := c.opts.store
		f, err := stable.Open(p, stable.Options{ReadOnly: true, LockTimeout: c.lockTimeout()})
		switch {
		case errors.Is(err, stable.ErrLocked):
			return err
		case err != nil:
			fmt.Fprintf(c.stdout, "%s: cannot be opened as a store: %v\n", p, err)
			if h := damageHint(err); h != "" {
				fmt.Fprintf(c.stdout, "%s: %s\n", p, h)
			}
			fmt.Fprintf(c.stdout, "%s: DAMAGED\n", p)
			return errReported
		}
		defer f.Close()
		r, err := f.Fsck()
		if err != nil {
			fmt.Fprintf(c.stdout, "%s: cannot be read: %v\n%s: DAMAGED\n", p, err, p)
			return errReported
		}
		fmt.Fprintf(c.stdout, "%s: %d inodes (%d directories, %d files, %d symlinks), %d entries, %d pages, %d orphans, %s bytes of files\n",
			p, r.Inodes, r.Dirs, r.Files, r.Symlinks, r.Entries, r.Pages, r.Orphans, humanSize(r.Bytes))
		if r.OK() {
			fmt.Fprintf(c.stdout, "%s: ok\n", p)
			return nil
		}
		for _, problem := range r.Problems {
			fmt.Fprintf(c.stdout, "  %s\n", problem)
		}
		fmt.Fprintf(c.stdout, "%s: DAMAGED: %d %s\n", p, len(r.Problems), plural(len(r.Problems), "problem", "problems"))
		return errReported
	},
}

var cmdCompact = &fsCommand{
	name:     "compact",
	synopsis: "",
	summary:  "rewrite the store to give back the space of deleted data",
	help: `A store file never shrinks by itself: the space of deleted files is reused by later writes,
not returned to the file system. compact copies every live key into a new file next to the
store and renames it over the store (atomically: after a crash the store is the old file or the
new one). On any error the store is left as it was. It needs the store to itself: run it while
no wasmrun uses it.`,
	access: storeSelf,
	run: func(c *fsContext, _ []string) error {
		if err := c.mustExist(); err != nil {
			return err
		}
		bar := c.progress("compact", -1)
		s, err := stable.Compact(c.opts.store, stable.CompactOptions{LockTimeout: c.lockTimeout(), Progress: bar.setTotal})
		bar.finish()
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "compacted %s: %s -> %s bytes\n", c.opts.store, humanSize(s.Before), humanSize(s.After))
		return nil
	},
}

var cmdBackup = &fsCommand{
	name:     "backup",
	synopsis: "[-f] HOST",
	summary:  "copy the store, consistently, to a new store file",
	help: `The copy is one consistent state of the store, read in a single transaction, and it is
compact. It opens the store read-only, so it runs while wasmrun processes read the store
(mounts with :ro) and other wasmrun fs readers use it; a wasmrun process that writes to the
store holds it locked, and backup waits --lock-timeout for it. The copy is written under a
temporary name next to HOST, synced, checked and then moved to HOST; an existing HOST is an
error unless -f. Restore by copying the backup over the store while no one uses it.

A store that a running wasmrun writes to cannot be opened by another process, this one
included: ask that wasmrun instead. SIGUSR1 (kill -USR1 PID) makes it commit and write a
consistent backup of its store (--store) to STORE.backup, replacing the last one, while the
guest goes on; it reports on its standard error.`,
	access:  storeSelf,
	minArgs: 1,
	maxArgs: 1,
	flags: func(fl *flag.FlagSet, o *fsOptions) {
		fl.BoolVar(&o.force, "f", false, "replace HOST if it exists")
	},
	run: func(c *fsContext, args []string) error {
		if err := c.mustExist(); err != nil {
			return err
		}
		f, err := stable.Open(c.opts.store, stable.Options{ReadOnly: true, LockTimeout: c.lockTimeout()})
		if err != nil {
			return err
		}
		defer f.Close()
		bar := c.progress("backup", -1)
		size, err := f.Backup(args[0], stable.BackupOptions{Replace: c.opts.force, Progress: bar.setTotal})
		bar.finish()
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w (give -f to replace it)", err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "backed up %s to %s (%s bytes)\n", c.opts.store, args[0], humanSize(size))
		return nil
	},
}
