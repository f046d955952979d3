package iofs

import (
	"io/fs"
	"time"

	"github.com/wasmrun/wasmrun/vfs"
)

// FileInfo returns st as an fs.FileInfo named name: Mode carries the permission bits, the type
// (TypeMode) and the setuid, setgid and sticky bits; ModTime is Mtime; Sys returns a *vfs.Stat.
func FileInfo(name string, st vfs.Stat) fs.FileInfo { return &fileInfo{name: name, st: st} }

// DirEntry returns the entry e of the directory dir of ns, whose io/fs name is dirName, as an
// fs.DirEntry; its Info stats the entry without following a symlink (as lstat), and its errors
// name the entry's io/fs path. e is copied.
func DirEntry(ns *vfs.Namespace, dir vfs.Node, dirName string, e *vfs.DirEntry) fs.DirEntry {
	return &dirEntry{ns: ns, dir: dir, path: joinName(dirName, string(e.Name)), typ: e.Type}
}

// joinName joins an io/fs directory name and an entry name.
func joinName(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// dirEntry implements fs.DirEntry.
type dirEntry struct {
	ns   *vfs.Namespace
	dir  vfs.Node
	path string
	typ  vfs.FileType
}

// Name, IsDir, Type and String implement fs.DirEntry.
func (d *dirEntry) Name() string      { return base(d.path) }
func (d *dirEntry) IsDir() bool       { return d.typ == vfs.TypeDir }
func (d *dirEntry) Type() fs.FileMode { return TypeMode(d.typ) }
func (d *dirEntry) String() string    { return fs.FormatDirEntry(d) }

// Info returns the entry's metadata, not following a symlink (as lstat).
func (d *dirEntry) Info() (fs.FileInfo, error) {
	st, e := d.ns.StatAt(d.dir, d.Name(), false)
	if e != 0 {
		return nil, PathError("stat", d.path, e)
	}
	return FileInfo(d.Name(), st), nil
}

// fileInfo implements fs.FileInfo over a Stat.
type fileInfo struct {
	name string
	st   vfs.Stat
}

// Name, Size, ModTime, IsDir and String implement fs.FileInfo.
func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.st.Size }
func (fi *fileInfo) ModTime() time.Time { return time.Unix(0, fi.st.Mtime) }
func (fi *fileInfo) IsDir() bool        { return fi.st.Type == vfs.TypeDir }
func (fi *fileInfo) String() string     { return fs.FormatFileInfo(fi) }

// Sys returns the *Stat.
func (fi *fileInfo) Sys() any { return &fi.st }

// Mode returns the permission bits and the type.
func (fi *fileInfo) Mode() fs.FileMode {
	m := fs.FileMode(fi.st.Mode&0o777) | TypeMode(fi.st.Type)
	if fi.st.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if fi.st.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if fi.st.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// TypeMode returns the fs.FileMode type bits of t (fs.ModeIrregular for TypeUnknown).
func TypeMode(t vfs.FileType) fs.FileMode {
	switch t {
	case vfs.TypeRegular:
		return 0
	case vfs.TypeDir:
		return fs.ModeDir
	case vfs.TypeSymlink:
		return fs.ModeSymlink
	case vfs.TypeBlockDevice:
		return fs.ModeDevice
	case vfs.TypeCharDevice:
		return fs.ModeDevice | fs.ModeCharDevice
	case vfs.TypeSocketDgram, vfs.TypeSocketStrm:
		return fs.ModeSocket
	}
	return fs.ModeIrregular
}
