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
	tab   *mountTable
	cur   Node      // the directory being walked (or the inode just looked up)
	typ   FileType  // cur's type; TypeUnknown only for a walk's starting node, until it matters
	up    nodeStack // the directories walked through to reach cur; up's top is cur's parent
	p     string    // what is left of the string being walked
	pend  strStack  // strings to walk after p
	links int       // symlinks followed so far
	// beneath confines the walk to the tree under its starting node (Node.Beneath): an absolute
	// path or symlink target, or ".." from the starting node, is ENOTCAPABLE. up then holds
	// exactly the directories between the start and cur, so up.n == 0 means cur is the start.
	beneath bool
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
	w.tab = ns.tab.Load()
	if w.tab.closed {
		return EBADF
	}
	if e := checkPath(path); e != 0 {
		return e
	}
	w.p = path
	w.beneath = at.beneath
	at.beneath = false
	if path[0] == '/' {
		if w.beneath {
			return ENOTCAPABLE
		}
		w.cur, w.typ = w.tab.rootNode, TypeDir
		return ESUCCESS
	}
	if at.m == nil {
		return EBADF
	}
	w.cur, w.typ = at, TypeUnknown
	return ESUCCESS
}

// cross returns the root of the filesystem mounted on n, or n itself.
func (t *mountTable) cross(n Node) (Node, bool) {
	if len(t.points) == 0 {
		return n, false
	}
	if m, ok := t.points[n]; ok {
		return Node{m: m, Ino: m.root}, true
	}
	return n, false
}

// enter makes n, of type typ, the current node; a mount point is entered as the mounted root.
func (w *walker) enter(n Node, typ FileType) {
	n, crossed := w.tab.cross(n)
	if crossed {
		typ = TypeDir
	}
	w.cur, w.typ = n, typ
}

// kindOf returns the kind of the path component comp.
func kindOf(comp string) lastKind {
	switch comp {
	case ".":
		return lastDot
	case "..":
		return lastDotDot
	}
	return lastNorm
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
		last := k == len(p) && w.pend.n == 0
		kind := kindOf(comp)
		// Every component is walked from a directory; this is the one place that makes sure of
		// it. A symlink met here (the previous component, looked up but not followed) is
		// followed, and the walk restarts at its target with this component still to walk. The
		// starting node's type is not known yet: for an ordinary name in the middle of the path
		// the Lookup below reports ENOTDIR itself, so no Stat is spent on it.
		if w.typ != TypeDir && (last || kind != lastNorm || w.typ != TypeUnknown) {
			restarted, e := w.needDirOrFollow(p[i:])
			if e != 0 {
				return "", 0, false, e
			}
			if restarted {
				continue
			}
		}
		if last {
			w.p = ""
			return comp, kind, j < len(p), ESUCCESS
		}
		switch kind {
		case lastDotDot:
			if e := w.goUp(); e != 0 {
				return "", 0, false, e
			}
		case lastNorm:
			ino, typ, e := w.cur.m.fs.Lookup(w.cur.Ino, comp)
			if e != 0 {
				return "", 0, false, e
			}
			w.up.push(w.cur)
			w.enter(Node{m: w.cur.m, Ino: ino}, typ)
		}
		w.p = p[j:]
	}
}

// needDirOrFollow makes sure w.cur is a directory before the component at the start of tail is
// walked. If w.cur is a symlink, it is followed: tail is pushed to be walked after the target,
// and restarted is true.
func (w *walker) needDirOrFollow(tail string) (restarted bool, e Errno) {
	if w.typ == TypeUnknown {
		st, e := w.cur.m.fs.Stat(w.cur.Ino)
		if e != 0 {
			return false, e
		}
		w.typ = st.Type
	}
	switch w.typ {
	case TypeDir:
		return false, ESUCCESS
	case TypeSymlink:
		if w.up.n == 0 {
			// The starting node itself is a symlink: it is not a directory to walk from.
			return false, ENOTDIR
		}
		link := w.cur
		w.cur, w.typ = w.up.pop(), TypeDir
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
	if target[0] == '/' && w.beneath {
		return ENOTCAPABLE
	}
	if strings.TrimLeft(tail, "/") != "" {
		w.pend.push(tail)
	}
	w.p = target
	if target[0] == '/' {
		w.cur, w.typ = w.tab.rootNode, TypeDir
		w.up.reset()
	}
	return ESUCCESS
}

// goUp moves w.cur (a directory) to its parent: across a mount point to the directory holding
// it, and nowhere at the namespace root. Within the walk it goes back the way the walk came;
// above the walk's start it asks the backend. A walk confined beneath its start cannot go above
// it: ENOTCAPABLE.
func (w *walker) goUp() Errno {
	if w.beneath {
		if w.up.n == 0 {
			return ENOTCAPABLE
		}
		w.cur, w.typ = w.up.pop(), TypeDir
		return ESUCCESS
	}
	if w.up.n > 0 && w.cur != w.tab.rootNode {
		w.cur, w.typ = w.up.pop(), TypeDir
		return ESUCCESS
	}
	p, e := w.tab.parentOf(w.cur)
	if e != 0 {
		return e
	}
	w.cur, w.typ = p, TypeDir
	return ESUCCESS
}

// parentOf returns the parent directory of the directory n: the backend's ".." entry, from the
// directory a mount covers when n is the root of a mount, and n itself at the namespace root.
// Errors: ENOENT (a removed directory), ENOTDIR (n is not a directory), EIO.
func (t *mountTable) parentOf(n Node) (Node, Errno) {
	if n == t.rootNode {
		return n, ESUCCESS
	}
	if n.Ino == n.m.root && n.m.parent != nil {
		// The root of a mount: its parent is the covered directory's parent.
		n = Node{m: n.m.parent, Ino: n.m.point}
	}
	ino, _, e := n.m.fs.Lookup(n.Ino, "..")
	if e != 0 {
		return Node{}, e
	}
	return Node{m: n.m, Ino: ino}, ESUCCESS
}

// creating is what Namespace.Open asks of resolve when its final component may be created
// (OCreate): resolve's loop is otherwise the same for Open and every other caller.
type creating struct {
	excl    bool   // OExcl: an existing name is EEXIST
	perm    uint32 // the new file's permission bits
	created bool   // set when resolve created the file
	tries   int    // creations lost to a racing creator so far
}

// resolve walks the whole path and returns the node it names and its type. With follow (or a
// trailing slash), a final symlink is followed. With c, the final component is created as a
// regular file if it does not exist (Open with OCreate): "/", ".", ".." or a trailing slash is
// then EISDIR, and with c.excl an existing name is EEXIST (a symlink is not followed first).
func (w *walker) resolve(follow bool, c *creating) (Node, FileType, Errno) {
	mustDir := false
	for {
		name, kind, slash, e := w.walkParent()
		if e != 0 {
			return Node{}, 0, e
		}
		mustDir = mustDir || slash
		if c != nil && (mustDir || kind != lastNorm) {
			return Node{}, 0, EISDIR
		}
		switch kind {
		case lastRoot, lastDot:
		case lastDotDot:
			if e := w.goUp(); e != 0 {
				return Node{}, 0, e
			}
		default:
			ino, typ, e := w.cur.m.fs.Lookup(w.cur.Ino, name)
			if c != nil {
				var again bool
				if ino, typ, e, again = w.create(c, name, ino, typ, e); again {
					continue
				}
			}
			if e != 0 {
				return Node{}, 0, e
			}
			// The final node is not pushed: w.cur stays its directory, for follow.
			n, crossed := w.tab.cross(Node{m: w.cur.m, Ino: ino})
			if crossed {
				typ = TypeDir
			}
			if typ == TypeSymlink && (follow || mustDir) {
				if e := w.follow(n, ""); e != 0 {
					return Node{}, 0, e
				}
				continue
			}
			if mustDir && typ != TypeDir {
				return Node{}, 0, ENOTDIR
			}
			return n, typ, ESUCCESS
		}
		return w.cur, TypeDir, ESUCCESS
	}
}

// create is resolve's step for a final name that Open may create, given what Lookup returned:
// it creates a missing name, refuses an existing one with c.excl, and asks for the name to be
// looked up again (again) when a racing creator made it first.
func (w *walker) create(c *creating, name string, ino Ino, typ FileType, e Errno) (Ino, FileType, Errno, bool) {
	switch {
	case e == ENOENT:
		ino, e = w.cur.m.fs.Create(w.cur.Ino, name, TypeRegular, c.perm&0o7777, "")
		if e == EEXIST && !c.excl && c.tries < 8 {
			c.tries++ // lost a race with another creator: look again
			w.p = name
			return 0, 0, e, true
		}
		c.created = e == 0
		return ino, TypeRegular, e, false
	case e == 0 && c.excl:
		return 0, 0, EEXIST, false
	}
	return ino, typ, e, false
}
