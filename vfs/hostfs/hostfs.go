// Package hostfs is the vfs.FS backend over a directory of the host: New(dir) stores its tree
// in dir, confined with os.Root. See New for the inode numbering and the limits.
//
// # Files
//
// The Linux implementation is split by job: nodes_linux.go keeps the table of host inodes
// (the Ino of each, the directory entries known to name it, the os.Root of each directory);
// ops_linux.go implements vfs.FS on it; file_linux.go implements vfs.File and the listing;
// host_linux.go holds what talks to the host kernel directly (the one errno mapping, the *at
// system calls os.Root has no method for).
package hostfs

import "github.com/wasmrun/wasmrun/vfs"

// New returns a backend that stores its tree in the host directory dir, confined with
// os.Root: no path it is asked about can leave dir, and it never follows a symlink itself (the
// Namespace does, inside the guest namespace), so neither a symlink nor ".." inside dir can
// reach the host's files outside it.
//
// # Inodes
//
// The backend numbers inodes itself: an Ino is assigned the first time a host inode (device
// and inode number) is seen, so hard links share an Ino, and it is never reused while the FS is
// open. Directories are held as *os.Root handles (file descriptors), so an Ino keeps naming its
// directory across renames; other inodes are reached through the (directory, name) entries the
// backend has seen, which Rename, Link and Remove keep up to date. An inode removed through this
// backend is forgotten, so a host inode number the host later reuses gets a new Ino.
//
// # Limits
//
// Changes made to dir by other host processes while the FS is open are seen on the next
// lookup, but an Ino may then name an entry that is gone (ENOENT). Readdir cookies are assigned
// per directory in the order this process first sees the names (so a listing comes in that
// order, not the host's), are kept in memory for the life of the FS, and a name removed and
// created again gets a new cookie; a listing costs one host directory read plus an lstat per
// reported entry. Symlink targets are limited to PathMax-1 bytes by the host (ENAMETOOLONG).
// Host permission checks apply (the backend runs with this process's rights), so a file the
// host user cannot write cannot be truncated or opened for writing (EACCES). Device files,
// FIFOs and sockets are listed and statted but not opened (EACCES). The times and modes are the
// host's; the host's umask is undone by setting the requested mode after a create. The FS
// implements Closer; Close releases the directory handles. New is available on Linux only;
// elsewhere it returns an error.
//
// Errors: the error of os.OpenRoot, or one wrapping ENOTSUP where the host is not supported.
func New(dir string) (vfs.FS, error) {
	return newHostDir(dir)
}
