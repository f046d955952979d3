package vfs

import (
	"fmt"
	"sort"
	"strings"
)

// This file holds the mount table's lifecycle: Mount, the list of mounts, and Commit and Close,
// which reach every mounted backend.

// MountInfo describes one mount.
type MountInfo struct {
	Path string // absolute guest path, "/" for the root
	FS   FS
	Dev  uint64 // the device number Stat reports for inodes of this mount
}

// Mount mounts fsys at the absolute guest path guestPath. A missing mount point directory is
// created in the filesystem below it (like mkdir -p, mode 0755); an existing non-directory is
// ENOTDIR. Symlinks on the way are followed. After Mount, every walk that reaches the mount
// point enters fsys's root, and ".." from fsys's root leaves to the mount point's parent.
// Mounting over an existing mount (its root, or "/") replaces nothing: it is EBUSY. A relative
// guestPath is EINVAL. Mounts are normally set up before guests run, but Mount is safe for
// concurrent use. The error wraps an Errno.
func (ns *Namespace) Mount(guestPath string, fsys FS) error {
	e := ns.mount(guestPath, fsys)
	if e != 0 {
		return fmt.Errorf("vfs: mount %q: %w", guestPath, e)
	}
	return nil
}

func (ns *Namespace) mount(guestPath string, fsys FS) Errno {
	if fsys == nil || !strings.HasPrefix(guestPath, "/") {
		return EINVAL
	}
	if e := checkPath(guestPath); e != 0 {
		return e
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	tab := ns.tab.Load()
	if tab.closed {
		return EBADF
	}
	// mkdir -p, one component at a time.
	for i := 1; i <= len(guestPath); i++ {
		if i < len(guestPath) && guestPath[i] != '/' || guestPath[i-1] == '/' {
			continue
		}
		if _, e := ns.StatAt(Node{}, guestPath[:i], true); e != ENOENT {
			continue // there already, or an error the walk below reports
		}
		if e := ns.Mkdir(Node{}, guestPath[:i], 0o755); e != 0 && e != EEXIST {
			return e
		}
	}
	var w walker
	if e := w.start(ns, Node{}, guestPath); e != 0 {
		return e
	}
	n, typ, e := w.resolve(true, nil)
	if e != 0 {
		return e
	}
	if typ != TypeDir {
		return ENOTDIR
	}
	if n.Ino == n.m.root {
		return EBUSY // the root of a mount (or "/"): no stacking
	}
	// The path shown by Mounts is guestPath cleaned lexically.
	m := &mount{
		fs:     fsys,
		root:   fsys.Root(),
		parent: n.m,
		point:  n.Ino,
		path:   cleanAbs(guestPath),
	}
	nt := &mountTable{
		mounts:   append(append([]*mount(nil), tab.mounts...), m),
		rootNode: tab.rootNode,
		points:   make(map[Node]*mount, len(tab.points)+1),
		busy:     make(map[Node]bool, len(tab.busy)+w.up.n+1),
	}
	m.dev = uint64(len(nt.mounts))
	for k, v := range tab.points {
		nt.points[k] = v
	}
	for k := range tab.busy {
		nt.busy[k] = true
	}
	nt.points[n] = m
	for i := 0; i < w.up.n; i++ {
		nt.busy[w.up.at(i)] = true
	}
	nt.busy[w.cur] = true
	sort.SliceStable(nt.mounts[1:], func(i, j int) bool {
		return nt.mounts[1+i].path < nt.mounts[1+j].path
	})
	ns.tab.Store(nt)
	return ESUCCESS
}

// cleanAbs cleans an absolute path lexically (for display only).
func cleanAbs(p string) string {
	var parts []string
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
		case "..":
			if len(parts) > 0 {
				parts = parts[:len(parts)-1]
			}
		default:
			parts = append(parts, c)
		}
	}
	return "/" + strings.Join(parts, "/")
}

// Mounts lists the mounts, root first, then by path.
func (ns *Namespace) Mounts() []MountInfo {
	tab := ns.tab.Load()
	out := make([]MountInfo, len(tab.mounts))
	for i, m := range tab.mounts {
		out[i] = MountInfo{Path: m.path, FS: m.fs, Dev: m.dev}
	}
	return out
}

// Commit commits every mounted backend that has a Committer (As) and returns the first error.
func (ns *Namespace) Commit() error {
	var first error
	for _, m := range ns.tab.Load().mounts {
		if c, ok := As[Committer](m.fs); ok {
			if e := c.Commit(); e != 0 && first == nil {
				first = fmt.Errorf("vfs: commit %s: %w", m.path, e)
			}
		}
	}
	return first
}

// Close commits and closes every mounted backend that has a Closer (children before their
// parents), then makes the namespace unusable: every later call returns EBADF. It returns the
// first error. A second Close returns nil.
func (ns *Namespace) Close() error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	tab := ns.tab.Load()
	if tab.closed {
		return nil
	}
	ns.tab.Store(&mountTable{mounts: tab.mounts, rootNode: tab.rootNode, closed: true})
	var first error
	for i := len(tab.mounts) - 1; i >= 0; i-- {
		m := tab.mounts[i]
		if c, ok := As[Closer](m.fs); ok {
			if err := c.Close(); err != nil && first == nil {
				first = fmt.Errorf("vfs: close %s: %w", m.path, err)
			}
		} else if c, ok := As[Committer](m.fs); ok {
			if e := c.Commit(); e != 0 && first == nil {
				first = fmt.Errorf("vfs: commit %s: %w", m.path, e)
			}
		}
	}
	return first
}
