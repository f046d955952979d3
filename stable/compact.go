package stable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// CompactOptions configure Compact. The zero value is fine.
type CompactOptions struct {
	// LockTimeout is how long to wait for another user of the store to let go (see
	// Options.LockTimeout).
	LockTimeout time.Duration

	// Progress, as BackupOptions.Progress.
	Progress func(done, total int64)

	// NoSync skips the fsyncs of the new file. For tests only: a crash of the machine soon
	// after could leave the store damaged.
	NoSync bool
}

// CompactStats are the sizes of the store file before and after Compact.
type CompactStats struct {
	Before, After int64
}

// Compact rewrites the store file at path to give back the space of deleted data, as bbolt's
// compact command does: a store file never shrinks by itself (freed pages are reused by later
// writes, not returned to the file system). It opens the store for writing, which locks it
// (waiting up to opts.LockTimeout, then ErrLocked), reclaims the orphans a crash left, copies
// every live key into a new file next to it (see FS.Backup: one consistent read, then a check of
// the copy), and renames the new file over the old one. The rename is atomic, so after a crash
// the store is the old file or the new one, both whole; on any error the old file is left as it
// was and the new one removed. The file keeps its permissions.
//
// Other processes may wait for the store meanwhile: Compact waits for them like any writer, and
// one that opened the file and is still waiting for its lock when Compact renames the new file
// in place finds, once it has the lock, that the path names another file, and opens that one
// (see Open): it never works on the old, replaced file.
//
// Errors, each naming the file: those of Open, ErrCorrupt (a key could not be read), and the
// operating system's.
func Compact(path string, opts CompactOptions) (stats CompactStats, err error) {
	if IsURL(path) {
		return stats, &fs.PathError{Op: "compact", Path: path, Err: errors.New("a store in etcd compacts itself (its history, as it commits); etcdctl defrag gives space back to the file system")}
	}
	if _, err := os.Stat(path); err != nil {
		return stats, err // Open would create a missing store
	}
	f, err := Open(path, Options{LockTimeout: opts.LockTimeout, CommitInterval: -1, NoSync: opts.NoSync})
	if err != nil {
		return stats, err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	return f.compact(opts)
}

// compact does the work of Compact on f, which has the store open for writing (and so
// locked), and must close it afterwards: the FS is then still on the old file.
func (f *FS) compact(opts CompactOptions) (stats CompactStats, err error) {
	path := f.path
	st, err := os.Stat(path) // the file f has locked: Open checked that path names it
	if err != nil {
		return stats, err
	}
	stats.Before = st.Size()
	// Write the log's commits into the file and let go of the log: its name goes with the path,
	// which names the new file once it is renamed in place, and a process waiting for that
	// file's lock may open it then. Later commits of f (Close's) go to the old file.
	if err := f.store.Detach(); err != nil {
		return stats, &fs.PathError{Op: "compact", Path: path, Err: err}
	}
	if st, err = os.Stat(path); err != nil {
		return stats, err
	}
	stats.Before = st.Size()
	tmp, size, err := f.copyStore(filepath.Dir(path), filepath.Base(path)+".compact-*", opts.NoSync, opts.Progress)
	if err != nil {
		return stats, &fs.PathError{Op: "compact", Path: path, Err: err}
	}
	if err := os.Chmod(tmp, st.Mode().Perm()); err != nil {
		_ = os.Remove(tmp)
		return stats, err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return stats, fmt.Errorf("compact %s: %w", path, err)
	}
	if !opts.NoSync {
		kv.SyncDir(filepath.Dir(path))
	}
	stats.After = size
	return stats, nil
}
