package stable

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/stable/internal/kv/boltkv"
	"github.com/wasmrun/wasmrun/stable/internal/kv/etcdkv"
)

// BackupOptions configure FS.Backup. The zero value is fine.
type BackupOptions struct {
	// Progress, if not nil, is called as the copy goes with the bytes of data copied so far
	// and an estimate of the total: the size of the store file, which holds at least that
	// much. The last call has done == total.
	Progress func(done, total int64)

	// Replace lets Backup replace an existing file at the destination, atomically (a reader
	// of the destination sees the old file or the new one, never a mix). Without it an
	// existing destination is an error.
	Replace bool

	// NoSync skips the fsyncs of the copy: a crash of the machine soon after may lose it.
	// For tests only.
	NoSync bool

	// Etcd configures the destination when it is a store in an etcd cluster (see
	// EtcdOptions).
	Etcd EtcdOptions
}

// copyBatch bounds the bytes of keys and values one write transaction of a copy holds.
const copyBatch = 16 << 20

// Backup writes a copy of the committed state of the store to a new store file at dst. The copy
// is one consistent snapshot, read in a single store transaction: Backup may run while this FS
// keeps working (its commits go on meanwhile and are not in the copy) and while other processes
// read the store (they open it with Options.ReadOnly, as Backup's caller may too). Changes still
// in the write-back cache are not in the copy: call Commit first to include them.
//
// The copy holds only live data, so it is also compact (see Compact), and it is a store like
// any other: Open it, or put it back in place of the store while no one has the store open.
// It is written under a temporary name in dst's directory, synced, checked (every key counted
// back, the superblock read) and only then moved to dst, so a crash or an error never leaves a
// partial copy at dst. It returns the size of the copy.
//
// Errors, each naming the file: fs.ErrExist (dst exists and opts.Replace is not set), dst is
// the store itself or a directory, ErrCorrupt (the store cannot be read), fs.ErrClosed (the FS
// is closed), or the operating system's error.
//
// dst may be an etcd URL ("etcd://HOST:PORT[,...]/NAME"): the copy then goes into that store,
// which must hold none yet (or, with Replace, is emptied first: not atomically). Its
// superblock's magic is written last, in a commit of its own, so that a copy cut short is no
// store (Open says ErrNotStore) and a new Backup to it starts over.
func (f *FS) Backup(dst string, opts BackupOptions) (int64, error) {
	if IsURL(dst) {
		size, err := f.backupToEtcd(dst, opts)
		if err != nil {
			var pe *fs.PathError
			if !errors.As(err, &pe) {
				err = &fs.PathError{Op: "backup", Path: redact(dst), Err: err}
			}
		}
		return size, err
	}
	if st, err := os.Stat(dst); err == nil {
		switch {
		case st.IsDir():
			return 0, &fs.PathError{Op: "backup", Path: dst, Err: errors.New("is a directory")}
		case !opts.Replace:
			return 0, &fs.PathError{Op: "backup", Path: dst, Err: fs.ErrExist}
		}
		if src, err := os.Stat(f.path); err == nil && os.SameFile(st, src) {
			return 0, &fs.PathError{Op: "backup", Path: dst, Err: errors.New("is the store being backed up")}
		}
	}
	tmp, size, err := f.copyStore(filepath.Dir(dst), filepath.Base(dst)+".backup-*", opts.NoSync, opts.Progress)
	if err != nil {
		return 0, &fs.PathError{Op: "backup", Path: dst, Err: err}
	}
	defer os.Remove(tmp) // after a Link, or on error
	if opts.Replace {
		err = os.Rename(tmp, dst)
	} else {
		err = os.Link(tmp, dst)
	}
	if err != nil {
		return 0, err
	}
	if !opts.NoSync {
		kv.SyncDir(filepath.Dir(dst))
	}
	return size, nil
}

// copyStore copies the committed state of the store, key by key in one read transaction, into a
// new store file made with os.CreateTemp(dir, pattern), syncs it (unless noSync), checks it,
// and returns its name and size. On error nothing is left behind.
func (f *FS) copyStore(dir, pattern string, noSync bool, progress func(done, total int64)) (name string, size int64, err error) {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return "", 0, fs.ErrClosed
	}
	var total int64
	if st, err := os.Stat(f.path); err == nil {
		total = st.Size()
	}
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", 0, err
	}
	name = tmp.Name()
	_ = tmp.Close()
	defer func() {
		if err != nil {
			_ = os.Remove(name)
		}
	}()
	// The copy's own commits skip fdatasync: the file is synced once, at the end.
	d, err := boltkv.OpenBolt(name, boltkv.BoltOptions{Buckets: bucketSpecs, PageSize: boltPageSize(int(f.ps)), NoSync: true})
	if err != nil {
		return "", 0, err
	}
	counts, _, err := copyBuckets(d, f.store, total, progress, false)
	if err == nil {
		err = checkCounts(d, counts)
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, err
	}
	if !noSync {
		if err := syncFile(name); err != nil {
			return "", 0, err
		}
	}
	g, err := Open(name, Options{ReadOnly: true, LockTimeout: -1})
	if err != nil {
		return "", 0, fmt.Errorf("the copy does not open: %w", err)
	}
	if err := g.Close(); err != nil {
		return "", 0, err
	}
	st, err := os.Stat(name)
	if err != nil {
		return "", 0, err
	}
	if progress != nil {
		progress(max(total, 1), max(total, 1))
	}
	return name, st.Size(), nil
}

// copyBuckets copies every bucket of src into d, in key order, in write transactions of about
// copyBatch bytes, all inside one read transaction of src. It returns the keys copied per
// bucket and the bytes. With magicLast, the superblock's magic is copied last, in a commit of
// its own.
func copyBuckets(d, src kv.Store, total int64, progress func(done, total int64), magicLast bool) ([]int64, int64, error) {
	counts := make([]int64, len(bucketSpecs))
	var magicValue []byte
	err := d.Update(func(w kv.Writer) error {
		// Every bucket exists in a store, empty or not.
		for b := range bucketSpecs {
			if err := w.Put(kv.Bucket(b), []byte{0}, nil); err != nil {
				return err
			}
			if err := w.Delete(kv.Bucket(b), []byte{0}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	var done int64
	err = src.View(func(r kv.Reader) error {
		for b := range bucketSpecs {
			bk := kv.Bucket(b)
			if !r.Exists(bk) {
				continue
			}
			var from []byte
			for more := true; more; {
				more = false
				err := d.Update(func(w kv.Writer) error {
					var n int64
					var perr error
					serr := r.Scan(bk, from, nil, func(k, v []byte) bool {
						if n >= copyBatch {
							from, more = bytes.Clone(k), true
							return false
						}
						if magicLast && bk == bSuper && bytes.Equal(k, keyMagic) {
							magicValue = bytes.Clone(v)
							return true
						}
						// v stays valid until src's transaction ends, after this one commits.
						if perr = w.Put(bk, k, v); perr != nil {
							return false
						}
						n += int64(len(k) + len(v))
						counts[b]++
						return true
					})
					done += n
					if perr != nil {
						return perr
					}
					return serr
				})
				if err != nil {
					return err
				}
				if progress != nil {
					progress(min(done, total), total)
				}
			}
		}
		return nil
	})
	if err == nil && magicValue != nil {
		err = d.Update(func(w kv.Writer) error { return w.Put(bSuper, keyMagic, magicValue) })
		counts[bSuper]++
	}
	return counts, done, storeError(err)
}

// checkCounts counts the keys of each bucket of d back and compares them with want.
func checkCounts(d kv.Store, want []int64) error {
	return d.View(func(r kv.Reader) error {
		for b := range bucketSpecs {
			var n int64
			if err := r.Scan(kv.Bucket(b), nil, nil, func(_, _ []byte) bool { n++; return true }); err != nil {
				return err
			}
			if n != want[b] {
				return fmt.Errorf("the copy's %s bucket has %d keys, want %d", bucketSpecs[b].Name, n, want[b])
			}
		}
		return nil
	})
}

func syncFile(name string) error {
	fh, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = fh.Sync()
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

// backupToEtcd copies the store into the store at the etcd URL dst (see Backup).
func (f *FS) backupToEtcd(dst string, opts BackupOptions) (int64, error) {
	if dst == f.path {
		return 0, errors.New("is the store being backed up")
	}
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return 0, fs.ErrClosed
	}
	eps, name, err := etcdkv.ParseURL(dst)
	if err != nil {
		return 0, err
	}
	eo := opts.Etcd.withEnv()
	d, err := etcdkv.Open(etcdkv.Config{
		Endpoints: eps, Name: name, Buckets: bucketSpecs, LeaseTTL: eo.LeaseTTL,
		CertFile: eo.CertFile, KeyFile: eo.KeyFile, CAFile: eo.CAFile, Username: eo.Username, Password: eo.Password,
	})
	if err != nil {
		var le *etcdkv.LockedError
		if errors.As(err, &le) {
			return 0, lockedBy(le.Holder)
		}
		return 0, storeError(err)
	}
	defer d.Close()
	var exists bool
	err = d.View(func(r kv.Reader) error {
		exists = r.Exists(bSuper) && r.Get(bSuper, keyMagic) != nil
		return nil
	})
	if err != nil {
		return 0, err
	}
	if exists && !opts.Replace {
		return 0, fs.ErrExist
	}
	// Empty it (a copy cut short, or the store Replace replaces): the magic goes first.
	err = d.Update(func(w kv.Writer) error {
		for b := range bucketSpecs {
			if w.Exists(kv.Bucket(b)) {
				if _, err := w.DeleteRange(kv.Bucket(b), nil, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var total int64
	if st, err := os.Stat(f.path); err == nil {
		total = st.Size()
	}
	counts, size, err := copyBuckets(d, f.store, total, opts.Progress, true)
	if err == nil {
		err = checkCounts(d, counts)
	}
	if err != nil {
		return 0, err
	}
	if err := d.Close(); err != nil {
		return 0, err
	}
	g, err := Open(dst, Options{ReadOnly: true, Etcd: opts.Etcd, LockTimeout: 10 * time.Second})
	if err != nil {
		return 0, fmt.Errorf("the copy does not open: %w", err)
	}
	if err := g.Close(); err != nil {
		return 0, err
	}
	if opts.Progress != nil {
		opts.Progress(max(total, 1), max(total, 1))
	}
	return size, nil
}
