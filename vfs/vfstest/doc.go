// Package vfstest is the conformance kit every vfs.FS backend must pass.
//
// A backend's own test calls Run with a constructor that makes a fresh, empty filesystem, and
// the Options that say what the backend cannot do, each with its reason at the call site:
//
//	func TestConformance(t *testing.T) {
//		vfstest.Run(t, func(t *testing.T) vfs.FS { return heap.New(heap.Options{}) }, vfstest.Options{})
//	}
//
// Run calls the constructor once per subtest, so every check starts from an empty filesystem
// and a failure names the rule it broke, for example
//
//	--- FAIL: TestConformance/Backend/Rename/DirOntoNonEmptyDir
//	    Rename(/a, /b) = ESUCCESS, want ENOTEMPTY
//
// # What is checked
//
// Backend (vfs.FS and vfs.File, called directly): read, write, pread, pwrite and short reads at
// the end of file; File.Append, including many concurrent appenders; truncation up and down;
// holes and writes past the end, at unaligned offsets that cross page boundaries; mkdir, rmdir,
// unlink and their errnos; the link count of files and directories; ReadDir completeness, inode
// numbers that match Lookup and Stat, and cookies from 1 to vfs.MaxCookie-1 that stay valid
// while entries are added and removed; rename of files and directories with every errno of rename(2); unlink while open;
// hard links; symlinks and Readlink; the type Lookup reports (Stat's) and its ".." (the
// parent, kept through rename, ENOENT once removed); atime, mtime and ctime; the 255-byte name limit; inode
// numbers that are never reused; removed directories; concurrent creators, renamers and
// removers racing a lister (run the kit under -race); an 8 MiB file written and read in odd
// chunk sizes; a seeded random sequence of operations compared step by step with a model;
// usage accounting for a backend that implements vfs.Usager; and, when the Options provide the
// constructors, ENOSPC on a size-limited backend and EROFS on a read-only one.
//
// Namespace (the same backend mounted by vfs.NewNamespace): open flags (O_CREAT, O_EXCL,
// O_TRUNC, O_DIRECTORY, O_NOFOLLOW), trailing slashes, the 4096-byte path limit, "." and ".."
// (also in ReadDir), symlink resolution with its loop limit, bad paths, and mounts.
//
// io/fs: testing/fstest.TestFS through iofs.OfBackend.
//
// # Randomised checks
//
// The random checks log their seed ("seed 12345 (replay with VFSTEST_SEED=12345)"); set the
// environment variable VFSTEST_SEED to replay a failing run. The model check prints its last
// steps when it fails; set VFSTEST_MODEL_LOG to a file name to save all of them.
//
// # Panics
//
// A panic in the backend fails the subtest it happened in, with its stack, instead of ending
// the whole test binary, so one broken operation does not hide the results of the others.
// Panics in goroutines the kit starts (the concurrency checks) still end the binary.
//
// This package is for tests only: no non-test code may import it.
package vfstest
