package readonly

import "github.com/wasmrun/wasmrun/vfs"

// New returns fsys with every change refused: SetAttr, Create, Link, Remove, Rename and Open
// with OpenWrite return EROFS, after the checks Linux makes first on a read-only mount (a
// missing name is still ENOENT, an existing one EEXIST for Create, a directory EISDIR for
// OpenWrite). Lookup, Stat, Readlink, Open for reading and the Files it returns are fsys's own.
// The result is a vfs.Wrapper: every optional capability of fsys (vfs.Committer, vfs.Closer,
// vfs.Usager, a backend's statistics, any other) is found through it with vfs.As, so the
// runtime still commits and closes a store mounted read-only and its figures still show.
func New(fsys vfs.FS) vfs.FS { return &readOnly{fs: fsys} }

// readOnly implements vfs.FS for New.
type readOnly struct{ fs vfs.FS }

// Unwrap implements vfs.Wrapper.
func (r *readOnly) Unwrap() vfs.FS { return r.fs }

// Root implements vfs.FS.Root.
func (r *readOnly) Root() vfs.Ino { return r.fs.Root() }

// Lookup implements vfs.FS.Lookup: fsys's own.
func (r *readOnly) Lookup(dir vfs.Ino, name string) (vfs.Ino, vfs.FileType, vfs.Errno) {
	return r.fs.Lookup(dir, name)
}

// Stat implements vfs.FS.Stat: fsys's own.
func (r *readOnly) Stat(ino vfs.Ino) (vfs.Stat, vfs.Errno) { return r.fs.Stat(ino) }

// Readlink implements vfs.FS.Readlink: fsys's own.
func (r *readOnly) Readlink(ino vfs.Ino) (string, vfs.Errno) { return r.fs.Readlink(ino) }

// Link implements vfs.FS.Link: EEXIST if the name exists, else EROFS.
func (r *readOnly) Link(ino vfs.Ino, dir vfs.Ino, name string) vfs.Errno {
	return r.refuseNew(dir, name)
}

// Remove implements vfs.FS.Remove: ENOENT for a missing name, else EROFS.
func (r *readOnly) Remove(dir vfs.Ino, name string, _ bool) vfs.Errno { return r.refuseOld(dir, name) }

// Rename implements vfs.FS.Rename: ENOENT for a missing source, else EROFS.
func (r *readOnly) Rename(d vfs.Ino, n string, _ vfs.Ino, _ string) vfs.Errno {
	return r.refuseOld(d, n)
}

// SetAttr implements vfs.FS.SetAttr: EROFS for an existing inode.
func (r *readOnly) SetAttr(ino vfs.Ino, _ *vfs.Attr) vfs.Errno {
	if _, e := r.fs.Stat(ino); e != 0 {
		return e
	}
	return vfs.EROFS
}

// Create implements vfs.FS.Create: EEXIST if the name exists, else EROFS.
func (r *readOnly) Create(dir vfs.Ino, name string, _ vfs.FileType, _ uint32, _ string) (vfs.Ino, vfs.Errno) {
	return 0, r.refuseNew(dir, name)
}

// refuseNew is the answer to a request to make dir/name.
func (r *readOnly) refuseNew(dir vfs.Ino, name string) vfs.Errno {
	switch _, _, e := r.fs.Lookup(dir, name); e {
	case vfs.ESUCCESS:
		return vfs.EEXIST
	case vfs.ENOENT:
		if _, e := r.fs.Stat(dir); e != 0 {
			return e
		}
		return vfs.EROFS
	default:
		return e
	}
}

// refuseOld is the answer to a request to change the existing dir/name.
func (r *readOnly) refuseOld(dir vfs.Ino, name string) vfs.Errno {
	if _, _, e := r.fs.Lookup(dir, name); e != 0 {
		return e
	}
	return vfs.EROFS
}

// Open implements vfs.FS.Open: OpenWrite is EISDIR on a directory and EROFS otherwise.
func (r *readOnly) Open(ino vfs.Ino, flags vfs.OpenFlag) (vfs.File, vfs.Errno) {
	if flags&vfs.OpenWrite != 0 {
		st, e := r.fs.Stat(ino)
		switch {
		case e != 0:
			return nil, e
		case st.Type == vfs.TypeDir:
			return nil, vfs.EISDIR
		}
		return nil, vfs.EROFS
	}
	return r.fs.Open(ino, flags)
}
