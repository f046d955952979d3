// Package iofs adapts between vfs and io/fs, in both directions.
//
//   - FromFS makes any io/fs.FS (an embed.FS, a testing/fstest.MapFS, os.DirFS) a read-only
//     vfs.FS backend, to mount in a Namespace.
//   - Of makes a vfs.Namespace an io/fs.FS (with fs.ReadDirFS, fs.StatFS, fs.ReadFileFS and
//     fs.ReadLinkFS) for Go code on the host: fs.WalkDir, testing/fstest.TestFS and http.FS
//     work on it. OfBackend does the same for a namespace of one backend.
//
// The pieces the runtime's read-write view (runtime.FS) builds on are exported so that there
// is one of each: FileInfo (a vfs.Stat as an fs.FileInfo), DirEntry (a vfs.DirEntry as an
// fs.DirEntry), TypeMode (a vfs.FileType as fs.FileMode type bits), NamespacePath (an io/fs
// name as a namespace path) and PathError (a vfs.Errno as an *fs.PathError).
//
// Errors are *fs.PathError values wrapping a vfs.Errno, so errors.Is matches them against
// fs.ErrNotExist and the other io/fs sentinels, and errors.As gives the Errno.
package iofs
