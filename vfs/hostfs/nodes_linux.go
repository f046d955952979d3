//go:build linux

package hostfs

import (
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/wasmrun/wasmrun/vfs"
)

// hostKey identifies a host inode.
type hostKey struct{ dev, ino uint64 }

// hostLoc is a directory entry known to name an inode.
type hostLoc struct {
	dir  vfs.Ino
	name string
}

// maxLocs bounds the entries remembered per inode (hard links beyond are found again by
// Lookup).
const maxLocs = 8

// hostNode is what the backend knows of one host inode.
type hostNode struct {
	ino  vfs.Ino
	key  hostKey
	typ  vfs.FileType
	locs []hostLoc // entries that named it when last seen
	dead bool      // removed through this FS: forgotten once open drops to 0

	// Open Files, so that an unlinked inode can still be statted.
	files []*os.File

	// Directories only.
	root       *os.Root          // opened lazily; the FS root always
	cookies    map[string]uint64 // readdir cookie of every name seen
	lastCookie uint64

	amu sync.Mutex // serializes Append
}

// hostFS implements vfs.FS over a host directory.
type hostFS struct {
	mu      sync.Mutex // guards everything below and every metadata call to the host
	nodes   map[vfs.Ino]*hostNode
	byKey   map[hostKey]*hostNode
	lastIno vfs.Ino
	closed  bool
}

func newHostDir(dir string) (vfs.FS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	fi, err := r.Lstat(".")
	if err != nil {
		r.Close()
		return nil, err
	}
	fsys := &hostFS{nodes: map[vfs.Ino]*hostNode{}, byKey: map[hostKey]*hostNode{}}
	n := fsys.nodeFor(fi)
	n.root = r
	return fsys, nil
}

// checkName enforces the FS name rules; it also keeps every host call to one component inside
// a directory handle, which is what confines the *at system calls below.
func checkName(name string) vfs.Errno {
	switch {
	case name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00"):
		return vfs.EINVAL
	case len(name) > vfs.NameMax:
		return vfs.ENAMETOOLONG
	}
	return vfs.ESUCCESS
}

func keyOf(fi fs.FileInfo) hostKey {
	st := fi.Sys().(*syscall.Stat_t)
	return hostKey{dev: st.Dev, ino: st.Ino}
}

func typeOf(m fs.FileMode) vfs.FileType {
	switch m.Type() {
	case 0:
		return vfs.TypeRegular
	case fs.ModeDir:
		return vfs.TypeDir
	case fs.ModeSymlink:
		return vfs.TypeSymlink
	case fs.ModeDevice:
		return vfs.TypeBlockDevice
	case fs.ModeDevice | fs.ModeCharDevice:
		return vfs.TypeCharDevice
	case fs.ModeSocket:
		return vfs.TypeSocketStrm
	}
	return vfs.TypeUnknown
}

func hostStat(ino vfs.Ino, fi fs.FileInfo) vfs.Stat {
	st := fi.Sys().(*syscall.Stat_t)
	return vfs.Stat{
		Ino:   ino,
		Type:  typeOf(fi.Mode()),
		Mode:  st.Mode & 0o7777,
		Nlink: uint64(st.Nlink),
		Size:  st.Size,
		Atime: st.Atim.Nano(),
		Mtime: st.Mtim.Nano(),
		Ctime: st.Ctim.Nano(),
	}
}

// fileMode converts permission bits to an os.FileMode.
func fileMode(perm uint32) os.FileMode {
	m := os.FileMode(perm & 0o777)
	if perm&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if perm&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if perm&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// nodeFor returns the node of the host inode fi describes, making one if it is new. Called with
// mu held.
func (fsys *hostFS) nodeFor(fi fs.FileInfo) *hostNode {
	k := keyOf(fi)
	typ := typeOf(fi.Mode())
	if n, ok := fsys.byKey[k]; ok {
		if n.typ == typ {
			return n
		}
		// The host reused the inode number of something removed behind our back.
		fsys.forget(n)
	}
	fsys.lastIno++
	n := &hostNode{ino: fsys.lastIno, key: k, typ: typ}
	fsys.nodes[n.ino] = n
	fsys.byKey[k] = n
	return n
}

// forget drops n from the key index (its host inode is gone) and from the Ino index once no
// File holds it. Called with mu held.
func (fsys *hostFS) forget(n *hostNode) {
	if fsys.byKey[n.key] == n {
		delete(fsys.byKey, n.key)
	}
	n.dead = true
	n.locs = nil
	n.cookies = nil
	if n.root != nil {
		n.root.Close()
		n.root = nil
	}
	if len(n.files) == 0 {
		delete(fsys.nodes, n.ino)
	}
}

func (n *hostNode) addLoc(dir vfs.Ino, name string) {
	for _, l := range n.locs {
		if l.dir == dir && l.name == name {
			return
		}
	}
	if len(n.locs) == maxLocs {
		n.locs = n.locs[1:]
	}
	n.locs = append(n.locs, hostLoc{dir, name})
}

func (n *hostNode) removeLoc(dir vfs.Ino, name string) {
	n.locs = slices.DeleteFunc(n.locs, func(l hostLoc) bool { return l.dir == dir && l.name == name })
}

// node returns the live node ino. Called with mu held.
func (fsys *hostFS) node(ino vfs.Ino) (*hostNode, vfs.Errno) {
	if fsys.closed {
		return nil, vfs.EBADF
	}
	n, ok := fsys.nodes[ino]
	if !ok || n.dead {
		return nil, vfs.ENOENT
	}
	return n, vfs.ESUCCESS
}

// dirRoot returns the os.Root of directory n, opening it through one of its entries if needed.
// Called with mu held.
func (fsys *hostFS) dirRoot(n *hostNode) (*os.Root, vfs.Errno) {
	if n.typ != vfs.TypeDir {
		return nil, vfs.ENOTDIR
	}
	if n.root != nil {
		return n.root, vfs.ESUCCESS
	}
	for len(n.locs) > 0 {
		l := n.locs[0]
		if p, e := fsys.node(l.dir); e == 0 {
			if pr, e := fsys.dirRoot(p); e == 0 {
				if r, err := pr.OpenRoot(l.name); err == nil {
					if fi, err := r.Lstat("."); err == nil && keyOf(fi) == n.key {
						n.root = r
						return r, vfs.ESUCCESS
					}
					r.Close()
				}
			}
		}
		n.locs = n.locs[1:] // stale
	}
	return nil, vfs.ENOENT
}

// dir returns the root of the live directory ino.
func (fsys *hostFS) dir(ino vfs.Ino) (*hostNode, *os.Root, vfs.Errno) {
	d, e := fsys.node(ino)
	if e != 0 {
		return nil, nil, e
	}
	r, e := fsys.dirRoot(d)
	return d, r, e
}

// locate finds an entry that still names n: the root of its directory, its name, and its
// lstat. Stale entries are dropped. Called with mu held.
func (fsys *hostFS) locate(n *hostNode) (*os.Root, string, fs.FileInfo, vfs.Errno) {
	for len(n.locs) > 0 {
		l := n.locs[0]
		if p, e := fsys.node(l.dir); e == 0 {
			if pr, e := fsys.dirRoot(p); e == 0 {
				if fi, err := pr.Lstat(l.name); err == nil && keyOf(fi) == n.key {
					return pr, l.name, fi, vfs.ESUCCESS
				}
			}
		}
		n.locs = n.locs[1:]
	}
	return nil, "", nil, vfs.ENOENT
}
