// Package tarfs moves trees of files into and out of a vfs.Namespace: Export writes a subtree
// as a tar stream, Import reads a tar stream (plain or gzip-compressed) into a directory, and
// Copy copies a subtree of one namespace into another (a host directory mounted with
// hostfs.New into a store, for example). It is what `wasmrun fs export` and `wasmrun fs
// import` are made of.
//
// Everything goes through the Namespace's own operations (Open, Mkdir, Symlink, Link, SetAttr),
// never around them, so a backend's invariants hold whatever the archive says.
//
// # What is kept
//
// Regular files (their bytes, holes read back as zeros and stored as holes again: an all-zero
// chunk is never written), directories, symlinks (their targets verbatim), hard links (two
// names for one inode become a tar hard link, and back), permission bits including setuid,
// setgid and sticky, and modification and access times to the nanosecond (tar's PAX format).
// Owners are not kept: wasmrun has none. Device files, FIFOs and sockets are skipped with a
// warning (Options.Warn) and counted in Stats.Skipped.
//
// Import reads sparse files in GNU tar's formats (old GNU, PAX 0.0, 0.1 and 1.0) from their
// sparse map, which it parses itself (archive/tar hides it), so an import costs what the
// archive holds, not the files' sizes: a few hundred bytes declaring a file of 2^44 bytes
// take microseconds. The file's size is set before its data is read, so one bigger than the
// target allows (a store's quota, ENOSPC; the largest file, EFBIG) fails at once. A map that
// does not hold together (fragments out of order, overlapping, past the size, more or less
// data than the archive holds) is an error wrapping ErrSparse or tar.ErrHeader.
//
// # Safety of imports
//
// An archive cannot write outside the directory it is imported into:
//
//   - an absolute name ("/etc/passwd"), or one with a ".." element ("a/../../x"), is refused
//     (ErrUnsafePath), as is a name with a NUL byte;
//   - a hard link must name a file or symlink imported earlier from the same archive (not a
//     directory, nor a device or FIFO, which are skipped);
//   - symlinks are created as they are (a symlink is only ever resolved inside the guest's
//     namespace, never on the host) but never followed while importing: an entry whose path
//     goes through a symlink, one from the archive or one already in the target, is refused.
//
// Import stops at the first refused entry or error; the entries before it stay imported, and
// a file whose content fails half-way is removed again. Check reads an
// archive through without writing anything and returns the first refusal, so a caller with a
// seekable source can refuse a bad archive before anything is written.
//
// An existing entry of the target is replaced by an archive entry of the same name, as tar does:
// a file or symlink is unlinked first (so the other names of a hard-linked file keep their
// content), an empty directory removed; a non-empty directory is kept when the entry is a
// directory, and is an error otherwise.
package tarfs
