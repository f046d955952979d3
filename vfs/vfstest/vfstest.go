package vfstest

import (
	"os"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/wasmrun/wasmrun/vfs"
)

// Options says what a backend cannot do. The zero value describes a full POSIX backend, and
// every field a backend sets needs the reason in a comment at the call site. A field never
// turns a check off silently: where a capability is missing, the kit checks instead that the
// backend refuses it cleanly (an errno, never a panic or a half-done change).
type Options struct {
	// NoHardLinks says FS.Link is not supported: it must fail with ENOTSUP or EPERM and change
	// nothing. The hard-link checks (nlink above 1, rename onto a link of itself) are replaced
	// by that check.
	NoHardLinks bool

	// NoSymlinks says symbolic links are not supported: Create with TypeSymlink must fail with
	// EINVAL or ENOTSUP and change nothing.
	NoSymlinks bool

	// NoTimes says the backend keeps no times: atime, mtime and ctime are not checked.
	NoTimes bool

	// DirNlink2 says a directory's link count is always 2, whatever subdirectories it holds
	// (an io/fs.FS has no link counts); the kit checks that it is exactly 2 instead of 2 plus
	// its subdirectories (the convention find's -noleaf exists for).
	DirNlink2 bool

	// NoAtime says the backend does not keep the atime SetAttr sets (a noatime mount). mtime
	// and ctime are still checked.
	NoAtime bool

	// TimeGranularity is how coarse the backend's times are: the resolution they are stored
	// with and how far the clock that stamps them may lag time.Now (a kernel's coarse clock
	// lags by up to one tick). Zero means exact nanoseconds from time.Now.
	TimeGranularity time.Duration

	// NoStableIno says the backend may reuse an inode number after the inode is deleted, which
	// the vfs.Ino contract forbids; the reuse check is replaced by a check that live inodes
	// have distinct numbers.
	NoStableIno bool

	// NoSetAttrUnlinked says SetAttr may fail with ENOENT on an inode that is unlinked but
	// still open (so ftruncate and futimens on such an fd may fail) instead of applying the
	// change. When it succeeds, the change must be there.
	NoSetAttrUnlinked bool

	// NewReadOnlyFS, if set, makes a fresh backend, calls fill to build a tree in it while it
	// is writable, and returns the same data as a read-only backend (a store reopened
	// read-only, or readonly.New over it); the kit then checks EROFS. If it is nil,
	// NoReadOnlyFS must say why.
	NewReadOnlyFS func(t *testing.T, fill func(w vfs.FS)) vfs.FS
	// NoReadOnlyFS is the reason NewReadOnlyFS is nil (the backend has no read-only mode; the
	// group runs in another test). The ReadOnly group fails if both are empty: a group must
	// never pass without running.
	NoReadOnlyFS string

	// NewLimitedFS, if set, makes a fresh empty backend that holds at most maxBytes bytes of
	// file data; the kit then checks ENOSPC and the short count that comes with it. If it is
	// nil, NoLimitedFS must say why.
	NewLimitedFS func(t *testing.T, maxBytes int64) vfs.FS
	// NoLimitedFS is the reason NewLimitedFS is nil (the backend has no size limit); the Space
	// group fails if both are empty.
	NoLimitedFS string
}

// NewFunc makes a fresh, empty backend for one subtest. It may register cleanups on t.
type NewFunc = func(t *testing.T) vfs.FS

// Run runs the whole kit against backends made by newFS, one fresh empty backend per subtest:
// the backend-level checks (RunBackend) under "Backend", the Namespace-level ones
// (RunNamespace) under "Namespace" and testing/fstest.TestFS (RunIOFS) under "IOFS".
func Run(t *testing.T, newFS NewFunc, opts Options) {
	t.Run("Backend", func(t *testing.T) { RunBackend(t, newFS, opts) })
	t.Run("Namespace", func(t *testing.T) { RunNamespace(t, newFS, opts) })
	t.Run("IOFS", func(t *testing.T) { RunIOFS(t, newFS, opts) })
}

// RunBackend runs the checks that call vfs.FS and vfs.File directly.
func RunBackend(t *testing.T, newFS NewFunc, opts Options) {
	k := &kit{newFS: newFS, opts: opts}
	k.group(t, "Root", k.testRoot)
	k.group(t, "IO", k.testIO)
	k.group(t, "Holes", k.testHoles)
	k.group(t, "Truncate", k.testTruncate)
	k.group(t, "Append", k.testAppend)
	k.group(t, "OpenErrors", k.testOpenErrors)
	k.group(t, "Create", k.testCreate)
	k.group(t, "Remove", k.testRemove)
	k.group(t, "Nlink", k.testNlink)
	k.group(t, "ReadDir", k.testReadDir)
	k.group(t, "Rename", k.testRename)
	k.group(t, "UnlinkOpen", k.testUnlinkOpen)
	k.group(t, "HardLinks", k.testHardLinks)
	k.group(t, "Symlinks", k.testSymlinks)
	k.group(t, "Times", k.testTimes)
	k.group(t, "Mode", k.testMode)
	k.group(t, "Names", k.testNames)
	k.group(t, "Ino", k.testIno)
	k.group(t, "Lookup", k.testLookup)
	k.group(t, "RemovedDir", k.testRemovedDir)
	k.group(t, "NotDir", k.testNotDir)
	k.group(t, "Usage", k.testUsage)
	k.group(t, "Space", k.testSpace)
	k.group(t, "ReadOnly", k.testReadOnly)
	k.group(t, "Concurrent", k.testConcurrent)
	k.group(t, "BigFile", k.testBigFile)
	k.group(t, "Model", k.testModel)
}

// RunNamespace runs the checks of the rules the Namespace implements above every backend (open
// flags, trailing slashes, path limits, symlink resolution, "." and ".." in listings, mounts),
// each through vfs.NewNamespace on a fresh backend from newFS.
func RunNamespace(t *testing.T, newFS NewFunc, opts Options) {
	k := &kit{newFS: newFS, opts: opts}
	k.group(t, "Open", k.testNSOpen)
	k.group(t, "TrailingSlash", k.testNSTrailingSlash)
	k.group(t, "PathMax", k.testNSPathMax)
	k.group(t, "Walk", k.testNSWalk)
	k.group(t, "Symlinks", k.testNSSymlinks)
	k.group(t, "ReadDir", k.testNSReadDir)
	k.group(t, "Mkdir", k.testNSMkdir)
	k.group(t, "Remove", k.testNSRemove)
	k.group(t, "Rename", k.testNSRename)
	k.group(t, "Link", k.testNSLink)
	k.group(t, "Mounts", k.testNSMounts)
}

// kit carries what every check needs.
type kit struct {
	newFS NewFunc
	opts  Options
}

// group runs f as the subtest name; f registers its own subtests with k.sub.
func (k *kit) group(t *testing.T, name string, f func(t *testing.T)) {
	t.Run(name, func(t *testing.T) {
		defer failOnPanic(t)
		f(t)
	})
}

// sub runs f as the subtest name on a fresh backend wrapped in a harness.
func (k *kit) sub(t *testing.T, name string, f func(t *testing.T, h *harness)) {
	t.Run(name, func(t *testing.T) {
		defer failOnPanic(t)
		f(t, newHarness(t, k.newFS(t), k.opts))
	})
}

// failOnPanic turns a panic of the code under test into a failure of the current subtest, so
// the other subtests still run and report.
func failOnPanic(t *testing.T) {
	if r := recover(); r != nil {
		t.Fatalf("panic: %v\n%s", r, debug.Stack())
	}
}

// seed returns the seed for a randomised check: VFSTEST_SEED if set, otherwise the clock. It
// logs the seed so that a failure can be replayed.
func seed(t *testing.T) uint64 {
	t.Helper()
	var s uint64
	if env := os.Getenv("VFSTEST_SEED"); env != "" {
		v, err := strconv.ParseUint(env, 10, 64)
		if err != nil {
			t.Fatalf("VFSTEST_SEED=%q: %v", env, err)
		}
		s = v
	} else {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with VFSTEST_SEED=%d)", s, s)
	return s
}
