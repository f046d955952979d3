package powercut

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// Require fails t unless this process can mount a FUSE filesystem (it runs as root, and
// /dev/fuse exists). It never skips, except when the environment sets POWERCUT=skip (and CI is
// not set): a missing prerequisite must not pass for a proof.
func Require(t testing.TB) {
	t.Helper()
	err := Available()
	if err == nil {
		return
	}
	if os.Getenv("POWERCUT") == "skip" && os.Getenv("CI") == "" {
		t.Skipf("POWERCUT=skip: %v", err)
	}
	t.Fatalf("%v (the power-cut tests mount a FUSE filesystem: run them as root on a machine with /dev/fuse; POWERCUT=skip skips them outside CI)", err)
}

// Available reports why this process cannot mount the filesystem, or nil if it can.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("powercut: not root (euid %d)", os.Geteuid())
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fmt.Errorf("powercut: no FUSE device: %w", err)
	}
	return nil
}

// FS is a mounted power-cut filesystem (see the package doc). Its methods are safe for
// concurrent use.
type FS struct {
	backing, mnt, grave string
	graveFd             int
	server              *fuse.Server

	mu       sync.Mutex
	frozen   bool
	frozenCh chan struct{} // closed by the freeze
	ops      int64         // operations that change something or sync, so far
	freezeAt int64         // if positive, the operation that freezes the filesystem
	done     bool
	seq      uint64               // numbers the held-back operations and the grave's names
	files    map[uint64]*fileHeld // by backing inode number: writes since the file's last fsync
	dirs     map[uint64]*dirHeld  // by backing inode number: changes since the dir's last fsync
	counter  Counts
}

// Counts counts what an FS saw and what a Cut dropped.
type Counts struct {
	Writes, FileSyncs, DirChanges, DirSyncs int64 // operations seen
	HeldBytes                               int64 // bytes written and not yet synced (now)
	HeldWrites, HeldDirChanges              int64 // held back now
	DroppedWrites, DroppedDirChanges        int64 // dropped by the Cut
	DroppedBytes                            int64
	KeptWrites, KeptDirChanges              int64 // held back, kept by a torn Cut
}

// fileHeld is what a file holds back: its operations since its last sync, and a descriptor of
// its own to undo them with (the file may have lost every name meanwhile).
type fileHeld struct {
	fd  int
	ops []dataOp
}

type dataKind uint8

const (
	opWrite dataKind = iota
	opTruncate
	opAllocate
)

// dataOp is one held-back change of a file's data, with what it overwrote.
type dataOp struct {
	seq      uint64
	kind     dataKind
	off      int64  // write, allocate
	data     []byte // write: the bytes written
	pre      []byte // write: the bytes overwritten (those below oldSize); truncate down: the bytes cut off
	oldSize  int64
	newSize  int64 // truncate
	length   int64 // allocate
	allocMod uint32
}

// dirHeld is what a directory holds back: its entry changes since its last fsync, and a
// descriptor (O_PATH) of its own to undo them with.
type dirHeld struct {
	fd  int
	ops []dirOp
}

// dirOp is one held-back change of the entry name of a directory: before it, name was absent
// (grave == "" and !wasDir), the file linked in the grave as grave, or an empty directory of
// mode dirMode (wasDir).
type dirOp struct {
	seq     uint64
	name    string
	grave   string
	wasDir  bool
	dirMode uint32
}

// Mount serves the directory backing at mountpoint (both must exist, on a filesystem that
// supports hard links; a hidden directory backing+".powercut-grave" is made beside backing, for
// the files an unsynced unlink or rename removed). Unmount or Cut it when done.
func Mount(backing, mountpoint string) (*FS, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	backing, err := filepath.Abs(backing)
	if err != nil {
		return nil, err
	}
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		return nil, fmt.Errorf("powercut: backing directory: %w", &os.PathError{Op: "stat", Path: backing, Err: err})
	}
	f := &FS{backing: backing, mnt: mountpoint, grave: backing + ".powercut-grave", frozenCh: make(chan struct{}),
		files: map[uint64]*fileHeld{}, dirs: map[uint64]*dirHeld{}}
	if err := os.RemoveAll(f.grave); err != nil {
		return nil, err
	}
	if err := os.Mkdir(f.grave, 0o700); err != nil {
		return nil, err
	}
	if f.graveFd, err = unix.Open(f.grave, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return nil, &os.PathError{Op: "open", Path: f.grave, Err: err}
	}
	lr := &fs.LoopbackRoot{Path: backing, Dev: uint64(st.Dev)}
	root := &node{LoopbackNode: &fs.LoopbackNode{RootData: lr}, pc: f}
	lr.RootNode = root
	f.server, err = fs.Mount(mountpoint, root, &fs.Options{
		MountOptions: fuse.MountOptions{
			DirectMount: true,
			FsName:      backing,
			Name:        "powercut",
			// Many kernel requests at once, so that a process's writes queue in the kernel
			// rather than in front of a single reader.
			MaxBackground: 64,
		},
	})
	if err != nil {
		unix.Close(f.graveFd)
		os.RemoveAll(f.grave)
		return nil, fmt.Errorf("powercut: mount %s on %s: %w", backing, mountpoint, err)
	}
	return f, nil
}

// Mountpoint returns where the filesystem is mounted.
func (f *FS) Mountpoint() string { return f.mnt }

// Backing returns the backing directory.
func (f *FS) Backing() string { return f.backing }

// Counts returns what f has seen so far (and, after Cut, what it dropped).
func (f *FS) Counts() Counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counter
}

// Freeze is the moment of the cut: every operation that would change a file or a directory, or
// sync one, fails from now on with EIO and changes nothing (reads go on). An operation in
// progress completes first.
func (f *FS) Freeze() {
	f.mu.Lock()
	f.freezeLocked()
	f.mu.Unlock()
}

func (f *FS) freezeLocked() {
	if !f.frozen {
		f.frozen = true
		close(f.frozenCh)
	}
}

// FreezeAt makes the n-th operation that changes a file or a directory, or syncs one (counted
// from the mount, see Ops), the moment of the cut: it fails with EIO and changes nothing, as
// every later one. A campaign that draws n lands its cuts uniformly over the operations a
// workload makes, inside every durability step, rather than uniformly over time (where most
// cuts fall while the process computes).
func (f *FS) FreezeAt(n int64) {
	f.mu.Lock()
	f.freezeAt = n
	if n > 0 && f.ops >= n {
		f.freezeLocked()
	}
	f.mu.Unlock()
}

// Frozen returns a channel closed once the filesystem is frozen.
func (f *FS) Frozen() <-chan struct{} { return f.frozenCh }

// Ops returns the number of operations that changed a file or a directory, or synced one,
// since the mount.
func (f *FS) Ops() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ops
}

// CutOptions say what a Cut keeps of what was held back.
type CutOptions struct {
	// Torn, if not nil, keeps a random part of what was held back, drawn from Torn: each
	// unsynced write, truncate or allocate of a file is kept with probability 1/2 (those kept
	// are re-applied in their order of issue), and each directory keeps a random prefix of its
	// unsynced changes. If nil, everything held back is dropped.
	Torn *rand.Rand
}

// Cut freezes the filesystem (see Freeze), unmounts it, and drops what was held back: the backing
// directory is then what a disk holds after a power cut at the moment of the freeze. Processes
// using the mount must have been killed (and waited for) first. It returns what it dropped.
func (f *FS) Cut(opts CutOptions) (Counts, error) {
	f.Freeze()
	err := f.unmount()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return f.counter, errors.New("powercut: already cut or unmounted")
	}
	f.done = true
	if cerr := f.dropLocked(opts.Torn); err == nil {
		err = cerr
	}
	f.releaseLocked()
	return f.counter, err
}

// Unmount unmounts the filesystem with no cut: what was held back stays, as after a clean
// shutdown. After Cut or Unmount it does nothing.
func (f *FS) Unmount() error {
	f.mu.Lock()
	done := f.done
	f.mu.Unlock()
	if done {
		return nil
	}
	err := f.unmount()
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.done {
		f.done = true
		f.releaseLocked()
	}
	return err
}

// unmount unmounts the mount point, lazily if it is busy.
func (f *FS) unmount() error {
	if err := f.server.Unmount(); err != nil {
		if derr := syscall.Unmount(f.mnt, syscall.MNT_DETACH); derr != nil {
			return fmt.Errorf("powercut: unmount %s: %v; lazily: %w", f.mnt, err, derr)
		}
		return nil
	}
	f.server.Wait()
	return nil
}

// releaseLocked closes the held descriptors and removes the grave.
func (f *FS) releaseLocked() {
	for _, h := range f.files {
		unix.Close(h.fd)
	}
	for _, h := range f.dirs {
		unix.Close(h.fd)
	}
	f.files, f.dirs = map[uint64]*fileHeld{}, map[uint64]*dirHeld{}
	f.counter.HeldBytes, f.counter.HeldWrites, f.counter.HeldDirChanges = 0, 0, 0
	unix.Close(f.graveFd)
	os.RemoveAll(f.grave)
}

// dropLocked undoes what is held back: every file's operations newest first, then every
// directory's, then (torn) re-applies the kept ones.
func (f *FS) dropLocked(torn *rand.Rand) error {
	var errs []error
	fail := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	// Deterministic order for the torn choices: by first held operation.
	files := make([]*fileHeld, 0, len(f.files))
	for _, h := range f.files {
		if len(h.ops) > 0 {
			files = append(files, h)
		}
	}
	slices.SortFunc(files, func(a, b *fileHeld) int { return compare(a.ops[0].seq, b.ops[0].seq) })
	dirs := make([]*dirHeld, 0, len(f.dirs))
	for _, h := range f.dirs {
		if len(h.ops) > 0 {
			dirs = append(dirs, h)
		}
	}
	slices.SortFunc(dirs, func(a, b *dirHeld) int { return compare(a.ops[0].seq, b.ops[0].seq) })

	for _, h := range files {
		for i := len(h.ops) - 1; i >= 0; i-- {
			fail(undoData(h.fd, &h.ops[i]))
		}
	}
	for _, h := range dirs {
		keep := 0
		if torn != nil {
			keep = torn.IntN(len(h.ops) + 1)
		}
		f.counter.KeptDirChanges += int64(keep)
		f.counter.DroppedDirChanges += int64(len(h.ops) - keep)
		for i := len(h.ops) - 1; i >= keep; i-- {
			fail(f.undoDir(h.fd, &h.ops[i]))
		}
	}
	for _, h := range files {
		for i := range h.ops {
			op := &h.ops[i]
			if torn != nil && torn.IntN(2) == 0 {
				f.counter.KeptWrites++
				fail(redoData(h.fd, op))
				continue
			}
			f.counter.DroppedWrites++
			f.counter.DroppedBytes += int64(len(op.data))
		}
	}
	return errors.Join(errs...)
}

func compare(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// undoData undoes op on the file open as fd; the file is as op left it.
func undoData(fd int, op *dataOp) error {
	switch op.kind {
	case opWrite:
		if err := pwriteAll(fd, op.pre, op.off); err != nil {
			return err
		}
		return ftruncate(fd, op.oldSize)
	case opTruncate:
		if err := ftruncate(fd, op.oldSize); err != nil {
			return err
		}
		return pwriteAll(fd, op.pre, op.newSize)
	case opAllocate:
		return ftruncate(fd, op.oldSize)
	}
	return nil
}

// redoData applies op again.
func redoData(fd int, op *dataOp) error {
	switch op.kind {
	case opWrite:
		return pwriteAll(fd, op.data, op.off)
	case opTruncate:
		return ftruncate(fd, op.newSize)
	case opAllocate:
		return os.NewSyscallError("fallocate", unix.Fallocate(fd, op.allocMod, op.off, op.length))
	}
	return nil
}

func ftruncate(fd int, size int64) error {
	return os.NewSyscallError("ftruncate", unix.Ftruncate(fd, size))
}

func pwriteAll(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		if err != nil {
			return os.NewSyscallError("pwrite", err)
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// undoDir undoes op in the directory open as dirfd: it removes what name holds now and puts
// back what it held before.
func (f *FS) undoDir(dirfd int, op *dirOp) error {
	var errs []error
	if err := unix.Unlinkat(dirfd, op.name, 0); err != nil && err != unix.ENOENT {
		if err == unix.EISDIR || err == unix.EPERM {
			// A directory made by the undone mkdir: move it, with whatever it holds, to the
			// grave.
			f.seq++
			err = unix.Renameat(dirfd, op.name, f.graveFd, "d"+strconv.FormatUint(f.seq, 10))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("powercut: undo %q: remove: %w", op.name, err))
		}
	}
	switch {
	case op.grave != "":
		if err := unix.Linkat(f.graveFd, op.grave, dirfd, op.name, 0); err != nil {
			errs = append(errs, fmt.Errorf("powercut: undo %q: link back: %w", op.name, err))
		}
	case op.wasDir:
		if err := unix.Mkdirat(dirfd, op.name, op.dirMode); err != nil {
			errs = append(errs, fmt.Errorf("powercut: undo %q: mkdir: %w", op.name, err))
		}
	}
	return errors.Join(errs...)
}

// Bookkeeping, called by the node and handle methods with f.mu held.

// fileLocked returns the held state of the file open as fd with inode ino, making it (with a
// descriptor of its own, read-write) if needed.
func (f *FS) fileLocked(fd int, ino uint64) (*fileHeld, error) {
	if h := f.files[ino]; h != nil {
		return h, nil
	}
	own, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	h := &fileHeld{fd: own}
	f.files[ino] = h
	return h, nil
}

// dirLocked returns the held state of the backing directory at path.
func (f *FS) dirLocked(path string) (*dirHeld, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if h := f.dirs[st.Ino]; h != nil {
		unix.Close(fd)
		return h, nil
	}
	h := &dirHeld{fd: fd}
	f.dirs[st.Ino] = h
	return h, nil
}

// addDataLocked records op on the file (fd, ino).
func (f *FS) addDataLocked(h *fileHeld, op dataOp) {
	f.seq++
	op.seq = f.seq
	h.ops = append(h.ops, op)
	f.counter.Writes++
	f.counter.HeldWrites++
	f.counter.HeldBytes += int64(len(op.data))
}

// addDirLocked records op in the directory at path.
func (f *FS) addDirLocked(path string, op dirOp) error {
	h, err := f.dirLocked(path)
	if err != nil {
		return err
	}
	f.seq++
	op.seq = f.seq
	h.ops = append(h.ops, op)
	f.counter.DirChanges++
	f.counter.HeldDirChanges++
	return nil
}

// syncFileLocked makes the held operations of file ino durable.
func (f *FS) syncFileLocked(ino uint64) {
	f.counter.FileSyncs++
	h := f.files[ino]
	if h == nil {
		return
	}
	for _, op := range h.ops {
		f.counter.HeldBytes -= int64(len(op.data))
	}
	f.counter.HeldWrites -= int64(len(h.ops))
	unix.Close(h.fd)
	delete(f.files, ino)
}

// syncDirLocked makes the held changes of directory ino durable, and forgets the files they
// removed.
func (f *FS) syncDirLocked(ino uint64) {
	f.counter.DirSyncs++
	h := f.dirs[ino]
	if h == nil {
		return
	}
	for _, op := range h.ops {
		if op.grave != "" {
			unix.Unlinkat(f.graveFd, op.grave, 0)
		}
	}
	f.counter.HeldDirChanges -= int64(len(h.ops))
	unix.Close(h.fd)
	delete(f.dirs, ino)
}

// buryLocked links the file at path into the grave, and returns its name there.
func (f *FS) buryLocked(path string) (string, error) {
	f.seq++
	name := "f" + strconv.FormatUint(f.seq, 10)
	if err := unix.Linkat(unix.AT_FDCWD, path, f.graveFd, name, 0); err != nil {
		return "", err
	}
	return name, nil
}

func (f *FS) unburyLocked(name string) {
	if name != "" {
		unix.Unlinkat(f.graveFd, name, 0)
	}
}

// lock takes f.mu for an operation that changes something or syncs, or fails with EIO once
// frozen (see FreezeAt).
func (f *FS) lock() syscall.Errno {
	f.mu.Lock()
	if !f.frozen {
		f.ops++
		if f.freezeAt > 0 && f.ops >= f.freezeAt {
			f.freezeLocked()
		}
	}
	if f.frozen {
		f.mu.Unlock()
		return syscall.EIO
	}
	return 0
}

// frozenNow reports whether the filesystem is frozen.
func (f *FS) frozenNow() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.frozen
}
