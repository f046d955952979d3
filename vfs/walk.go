package vfs

import "strings"

// This file holds the path walker: the one place where guest paths become inodes. It follows
// Linux's namei: link_path_walk walks every component but the last, and the caller decides what
// to do with the last one (look it up, create it, remove it, follow it if it is a symlink).

// lastKind is the kind of the final component of a path, as Linux's LAST_NORM, LAST_DOT,
// LAST_DOTDOT and LAST_ROOT.
type lastKind uint8

const (
	lastNorm   lastKind = iota // an ordinary name
	lastDot                    // "."
	lastDotDot                 // ".."
	lastRoot                   // the path was only slashes: "/"
)

// stackInline is how many ancestors a walk keeps without allocating.
const stackInline = 16

// nodeStack is a stack of Nodes that holds its first stackInline entries inline, so that the
// walk of a short path does not allocate.
type nodeStack struct {
	buf  [stackInline]Node
	more []Node
	n    int
}

func (s *nodeStack) push(n Node) {
	if s.n < stackInline {
		s.buf[s.n] = n
	} else {
		s.more = append(s.more, n)
	}
	s.n++
}

func (s *nodeStack) pop() Node {
	s.n--
	if s.n >= stackInline {
		n := s.more[s.n-stackInline]
		s.more = s.more[:s.n-stackInline]
		return n
	}
	return s.buf[s.n]
}

func (s *nodeStack) at(i int) Node {
	if i < stackInline {
		return s.buf[i]
	}
	return s.more[i-stackInline]
}

func (s *nodeStack) reset() {
	s.n = 0
	s.more = s.more[:0]
}

// strStack is a stack of strings still to walk (the rest of a path whose middle component was a
// symlink), with a few entries inline.
type strStack struct {
	buf  [4]string
	more []string
	n    int
	size int // total bytes
}

func (s *strStack) push(p string) {
	if s.n < len(s.buf) {
		s.buf[s.n] = p
	} else {
		s.more = append(s.more, p)
	}
	s.n++
	s.size += len(p)
}

func (s *strStack) pop() string {
	s.n--
	var p string
	if s.n >= len(s.buf) {
		p = s.more[s.n-len(s.buf)]
		s.more = s.more[:s.n-len(s.buf)]
	} else {
		p = s.buf[s.n]
		s.buf[s.n] = ""
	}
	s.size -= len(p)
	return p
}

// walker is the state of one path resolution. It lives on the caller's stack.
type walker struct {
	ns    *Namespace
	tab   *mountTable
	cur   Node      // the directory being walked (or, lazily, the inode just looked up)
	dir   bool      // cur is known to be a directory
	up    nodeStack // the directories walked through to reach cur; up's top is cur's parent
	p     string    // what is left of the string being walked
	pend  strStack  // strings to walk after p
	links int       // symlinks followed so far
}

// checkPath checks the limits every path argument obeys.
func checkPath(path string) Errno {
	switch {
	case path == "":
		return ENOENT
	case len(path) >= PathMax:
		return ENAMETOOLONG
	case strings.IndexByte(path, 0) >= 0:
		return EILSEQ
	}
	return ESUCCESS
}

// start prepares w to walk path from at.
func (w *walker) start(ns *Namespace, at Node, path string) Errno {
	w.ns = ns
	w.tab = ns.tab.Load()
	if w.tab.closed {
		return EBADF
	}
	if e := checkPath(path); e != 0 {
		return e
	}
	w.p = path
	if path[0] == '/' {
		w.cur = w.tab.rootNode
		w.dir = true
		return ESUCCESS
	}
	if at.m == nil {
		return EBADF
	}
	w.cur = at
	w.dir = false
	return ESUCCESS
}

// cross returns the root of the filesystem mounted on n, or n itself.
func (t *mountTable) cross(n Node) (Node, bool) {
	if len(t.points) == 0 {
		return n, false
	}
	if m, ok := t.points[n]; ok {
		return Node{m, m.root}, true
	}
	return n, false
}

// walkParent walks every component of the path but the last, and leaves w.cur at the directory
// that holds it (known to be a directory). It returns the last component, its kind, whether a
// slash followed it, and the unconsumed tail of the path starting at it.
func (w *walker) walkParent() (name string, kind lastKind, slash bool, e Errno) {
	for {
		p := w.p
		i := 0
		for i < len(p) && p[i] == '/' {
			i++
		}
		if i == len(p) {
			if w.pend.n > 0 {
				w.p = w.pend.pop()
				continue
			}
			// Only slashes: the path (or a symlink target) was "/"; cur is the root.
			w.p = ""
			return "", lastRoot, true, ESUCCESS
		}
		j := i + 1
		for j < len(p) && p[j] != '/' {
			j++
		}
		comp := p[i:j]
		if len(comp) > NameMax {
			return "", 0, false, ENAMETOOLONG
		}
		k := j
		for k < len(p) && p[k] == '/' {
			k++
		}
		if k == len(p) && w.pend.n == 0 {
			// The last component. The directory holding it must be a directory.
			if !w.dir {
				restarted, e := w.needDirOrFollow(p[i:])
				if e != 0 {
					return "", 0, false, e
				}
				if restarted {
					continue
				}
			}
			w.p = ""
			kind = lastNorm
			switch comp {
			case ".":
				kind = lastDot
			case "..":
				kind = lastDotDot
			}
			return comp, kind, j < len(p), ESUCCESS
		}
		switch comp {
		case ".":
			if !w.dir {
				restarted, e := w.needDirOrFollow(p[i:])
				if e != 0 {
					return "", 0, false, e
				}
				if restarted {
					continue
				}
			}
		case "..":
			if !w.dir {
				restarted, e := w.needDirOrFollow(p[i:])
				if e != 0 {
					return "", 0, false, e
				}
				if restarted {
					continue
				}
			}
			if e := w.goUp(); e != 0 {
				return "", 0, false, e
			}
		default:
			ino, e := w.cur.m.fs.Lookup(w.cur.Ino, comp)
			if e == ENOTDIR && !w.dir {
				restarted, e := w.needDirOrFollow(p[i:])
				if e != 0 {
					return "", 0, false, e
				}
				if restarted {
					continue
				}
				return "", 0, false, ENOTDIR
			}
			if e != 0 {
				return "", 0, false, e
			}
			w.up.push(w.cur)
			w.cur, w.dir = w.tab.cross(Node{w.cur.m, ino})
		}
		w.p = p[j:]
	}
}

// needDirOrFollow makes sure w.cur is a directory before the component at the start of tail is
// walked. If w.cur is a symlink, it is followed: tail is pushed to be walked after the target,
// and restarted is true.
func (w *walker) needDirOrFollow(tail string) (restarted bool, e Errno) {
	st, e := w.cur.m.fs.Stat(w.cur.Ino)
	if e != 0 {
		return false, e
	}
	switch st.Type {
	case TypeDir:
		w.dir = true
		return false, ESUCCESS
	case TypeSymlink:
		if w.up.n == 0 {
			// The starting node itself is a symlink: it is not a directory to walk from.
			return false, ENOTDIR
		}
		link := w.cur
		w.cur = w.up.pop()
		w.dir = true
		if e := w.follow(link, tail); e != 0 {
			return false, e
		}
		return true, ESUCCESS
	}
	return false, ENOTDIR
}

// follow starts walking the target of the symlink link, whose directory is w.cur; tail is what
// must be walked after the target.
func (w *walker) follow(link Node, tail string) Errno {
	w.links++
	if w.links > SymlinkMax {
		return ELOOP
	}
	target, e := link.m.fs.Readlink(link.Ino)
	if e != 0 {
		return e
	}
	if target == "" {
		return ENOENT
	}
	if len(target)+len(tail)+w.pend.size >= PathMax {
		return ENAMETOOLONG
	}
	if strings.IndexByte(target, 0) >= 0 {
		return EILSEQ
	}
	if strings.TrimLeft(tail, "/") != "" {
		w.pend.push(tail)
	}
	w.p = target
	if target[0] == '/' {
		w.cur = w.tab.rootNode
		w.dir = true
		w.up.reset()
	}
	return ESUCCESS
}

// goUp moves w.cur (a directory) to its parent: across a mount point to the directory holding
// it, and nowhere at the namespace root.
func (w *walker) goUp() Errno {
	if w.cur == w.tab.rootNode {
		return ESUCCESS
	}
	if w.up.n > 0 {
		w.cur = w.up.pop()
		w.dir = true
		return ESUCCESS
	}
	p, ok := w.ns.parentOf(w.tab, w.cur)
	if !ok {
		return ENOENT
	}
	w.cur = p
	w.dir = true
	return ESUCCESS
}

// resolve walks the whole path and returns the node it names and its metadata (Dev not set).
// With follow (or a trailing slash), a final symlink is followed. A caller that hands the node
// out records its parents (Namespace.record).
func (w *walker) resolve(follow bool) (Node, Stat, Errno) {
	mustDir := false
	for {
		name, kind, slash, e := w.walkParent()
		if e != 0 {
			return Node{}, Stat{}, e
		}
		mustDir = mustDir || slash
		var n Node
		switch kind {
		case lastRoot, lastDot:
			n = w.cur
		case lastDotDot:
			if e := w.goUp(); e != 0 {
				return Node{}, Stat{}, e
			}
			n = w.cur
		default:
			ino, e := w.cur.m.fs.Lookup(w.cur.Ino, name)
			if e != 0 {
				return Node{}, Stat{}, e
			}
			n, _ = w.tab.cross(Node{w.cur.m, ino})
		}
		st, e := n.m.fs.Stat(n.Ino)
		if e != 0 {
			return Node{}, Stat{}, e
		}
		if st.Type == TypeSymlink && (follow || mustDir) {
			if e := w.follow(n, ""); e != 0 {
				return Node{}, Stat{}, e
			}
			continue
		}
		if mustDir && st.Type != TypeDir {
			return Node{}, Stat{}, ENOTDIR
		}
		return n, st, ESUCCESS
	}
}
