package tarfs

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/wasmrun/wasmrun/vfs"
)

// ErrUnsafePath is wrapped by the error of Import and Check for an entry that would land outside
// the target directory: an absolute name, a ".." element, a path through a symlink, or a hard
// link to something that is not an earlier entry of the archive.
var ErrUnsafePath = errors.New("refused: the entry would leave the target directory")

// cleanName checks an archive entry's name and returns it clean and relative: "." for the
// target itself. "./" prefixes and repeated or trailing slashes are accepted.
func cleanName(name string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("an entry with an empty name: %w", ErrUnsafePath)
	case strings.HasPrefix(name, "/"):
		return "", fmt.Errorf("%q is an absolute name: %w", name, ErrUnsafePath)
	case strings.IndexByte(name, 0) >= 0:
		return "", fmt.Errorf("%q holds a NUL byte: %w", name, ErrUnsafePath)
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", fmt.Errorf("%q has a \"..\" element: %w", name, ErrUnsafePath)
		}
	}
	return path.Clean(name), nil
}

// splitName splits a clean relative name into its parent ("." at the top) and its last element.
func splitName(name string) (string, string) {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return ".", name
}

// sink writes entries into a directory of a namespace.
type sink struct {
	ns     *vfs.Namespace
	opts   Options
	dirs   map[string]vfs.Node // directories resolved under the target, by entry name ("." the target)
	placed map[string]bool     // non-directories this sink created: what a hard link may name
	meta   []dirMeta           // directory modes and times, applied at the end
	stats  Stats
	done   int64 // bytes of file data written, for Options.Progress
	buf    []byte
}

type dirMeta struct {
	n     vfs.Node
	mode  uint32
	atime int64
	mtime int64
}

// newSink returns a sink into the directory dir of ns (an absolute path; a final symlink is
// followed), which is created, with its missing parents, if it does not exist.
func newSink(ns *vfs.Namespace, dir string, opts Options) (*sink, error) {
	if !strings.HasPrefix(dir, "/") {
		return nil, fmt.Errorf("%s: the target must be an absolute path", dir)
	}
	// mkdir -p
	for i := 1; i <= len(dir); i++ {
		if i < len(dir) && dir[i] != '/' || dir[i-1] == '/' {
			continue
		}
		if e := ns.Mkdir(vfs.Node{}, dir[:i], 0o755); e != 0 && e != vfs.EEXIST {
			return nil, fmt.Errorf("%s: %w", dir[:i], e)
		}
	}
	root, e := ns.Resolve(vfs.Node{}, dir, true)
	if e == 0 {
		var st vfs.Stat
		if st, e = ns.Stat(root); e == 0 && st.Type != vfs.TypeDir {
			e = vfs.ENOTDIR
		}
	}
	if e != 0 {
		return nil, fmt.Errorf("%s: %w", dir, e)
	}
	return &sink{
		ns:     ns,
		opts:   opts,
		dirs:   map[string]vfs.Node{".": root},
		placed: map[string]bool{},
		buf:    make([]byte, chunk),
	}, nil
}

// dir returns the directory name (an entry name), creating it (mode 0755) if it is missing. It
// never follows a symlink: one on the way is ErrUnsafePath.
func (s *sink) dir(name string) (vfs.Node, error) {
	if n, ok := s.dirs[name]; ok {
		return n, nil
	}
	pname, base := splitName(name)
	p, err := s.dir(pname)
	if err != nil {
		return vfs.Node{}, err
	}
	st, e := s.ns.StatAt(p, base, false)
	switch {
	case e == vfs.ENOENT:
		if e = s.ns.Mkdir(p, base, 0o755); e != 0 {
			return vfs.Node{}, fmt.Errorf("%s: %w", name, e)
		}
	case e != 0:
		return vfs.Node{}, fmt.Errorf("%s: %w", name, e)
	case st.Type == vfs.TypeSymlink:
		return vfs.Node{}, fmt.Errorf("%s is a symlink: %w", name, ErrUnsafePath)
	case st.Type != vfs.TypeDir:
		return vfs.Node{}, fmt.Errorf("%s: %w", name, vfs.ENOTDIR)
	}
	n, e := s.ns.Resolve(p, base, false)
	if e != 0 {
		return vfs.Node{}, fmt.Errorf("%s: %w", name, e)
	}
	s.dirs[name] = n
	return n, nil
}

// clear makes room for a new non-directory p/base (entry name): it unlinks an existing
// non-directory and removes an existing empty directory.
func (s *sink) clear(p vfs.Node, base, name string) error {
	st, e := s.ns.StatAt(p, base, false)
	switch {
	case e == vfs.ENOENT:
		return nil
	case e != 0:
		return fmt.Errorf("%s: %w", name, e)
	case st.Type == vfs.TypeDir:
		if e := s.ns.Remove(p, base, true); e != 0 {
			return fmt.Errorf("%s: cannot replace a directory: %w", name, e)
		}
		delete(s.dirs, name)
	default:
		if e := s.ns.Remove(p, base, false); e != 0 {
			return fmt.Errorf("%s: %w", name, e)
		}
	}
	delete(s.placed, name)
	return nil
}

// put writes one entry; body is a regular file's content.
func (s *sink) put(e *entry, body io.Reader) error {
	name, err := cleanName(e.name)
	if err != nil {
		return err
	}
	if name == "." {
		if e.typ != vfs.TypeDir {
			return fmt.Errorf("%q names the target directory itself but is a %v", e.name, e.typ)
		}
		s.meta = append(s.meta, dirMeta{s.dirs["."], e.mode, e.atime, e.mtime})
		s.stats.count(e)
		return nil
	}
	pname, base := splitName(name)
	p, err := s.dir(pname)
	if err != nil {
		return err
	}
	if e.linkTo != "" {
		return s.link(e, name, p, base)
	}
	switch e.typ {
	case vfs.TypeDir:
		st, en := s.ns.StatAt(p, base, false)
		switch {
		case en == vfs.ENOENT:
			en = s.ns.Mkdir(p, base, e.mode)
		case en == 0 && st.Type != vfs.TypeDir:
			if en = s.ns.Remove(p, base, false); en == 0 {
				delete(s.placed, name)
				en = s.ns.Mkdir(p, base, e.mode)
			}
		}
		if en != 0 {
			return fmt.Errorf("%s: %w", name, en)
		}
		n, en := s.ns.Resolve(p, base, false)
		if en != 0 {
			return fmt.Errorf("%s: %w", name, en)
		}
		s.dirs[name] = n
		s.meta = append(s.meta, dirMeta{n, e.mode, e.atime, e.mtime})
	case vfs.TypeRegular:
		if err := s.clear(p, base, name); err != nil {
			return err
		}
		if err := s.file(e, name, p, base, body); err != nil {
			return err
		}
		s.placed[name] = true
	case vfs.TypeSymlink:
		if err := s.clear(p, base, name); err != nil {
			return err
		}
		if en := s.ns.Symlink(e.target, p, base); en != 0 {
			return fmt.Errorf("%s: symlink to %q: %w", name, e.target, en)
		}
		// Times of a symlink are kept where the backend allows it (lutimes).
		_ = s.ns.SetAttrAt(p, base, false, &vfs.Attr{Valid: vfs.AttrAtime | vfs.AttrMtime, Atime: e.atime, Mtime: e.mtime})
		s.placed[name] = true
	default:
		s.warn("%s: skipped: %s", name, special(e.typ))
		s.stats.Skipped++
		return nil
	}
	s.stats.count(e)
	return nil
}

// link makes name (in p, as base) a hard link to the earlier entry e.linkTo.
func (s *sink) link(e *entry, name string, p vfs.Node, base string) error {
	to, err := cleanName(e.linkTo)
	if err != nil {
		return fmt.Errorf("%s: hard link: %w", name, err)
	}
	if !s.placed[to] {
		return fmt.Errorf("%s: hard link to %q, which is not an earlier file of the archive: %w", name, e.linkTo, ErrUnsafePath)
	}
	if to == name {
		return nil // a link to itself: already there
	}
	tp, tbase := splitName(to)
	tdir, ok := s.dirs[tp]
	if !ok {
		return fmt.Errorf("%s: hard link to %q: its directory is gone", name, e.linkTo)
	}
	if err := s.clear(p, base, name); err != nil {
		return err
	}
	if en := s.ns.Link(tdir, tbase, false, p, base); en != 0 {
		return fmt.Errorf("%s: hard link to %q: %w", name, e.linkTo, en)
	}
	s.placed[name] = true
	s.stats.Links++
	return nil
}

// file creates the regular file p/base with body's content (or e.sparse's). All-zero chunks
// are not written, so holes stay holes. On an error the file is removed again.
func (s *sink) file(e *entry, name string, p vfs.Node, base string, body io.Reader) (err error) {
	h, en := s.ns.Open(p, base, vfs.OWrite|vfs.OCreate|vfs.OExcl|vfs.ONoFollow, e.mode)
	if en != 0 {
		return fmt.Errorf("%s: %w", name, en)
	}
	defer h.File.Close()
	defer func() {
		if err != nil {
			// Leave nothing of a file half-imported: the entries before it stay, not it.
			_ = s.ns.Remove(p, base, false)
		}
	}()
	if e.sparse != nil {
		return s.sparse(e, name, h)
	}
	var off int64
	for body != nil {
		n, err := io.ReadFull(body, s.buf)
		if n > 0 {
			if err := s.write(h, name, s.buf[:n], off); err != nil {
				return err
			}
			off += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	a := &vfs.Attr{Valid: vfs.AttrSize | vfs.AttrMode | vfs.AttrAtime | vfs.AttrMtime,
		Size: off, Mode: e.mode, Atime: e.atime, Mtime: e.mtime}
	if en := s.ns.SetAttr(h.Node, a); en != 0 {
		return fmt.Errorf("%s: %w", name, en)
	}
	e.size = off // what Stats count
	return nil
}

// sparse writes the content of the sparse entry e into the file just created (h): its size
// first, so that a file the target has no room for (ENOSPC, EFBIG: the store's quota, a heap's
// MaxBytes) fails before any data is read, then each fragment's data, all-zero chunks left
// out. It costs what the archive holds, not the file's size.
func (s *sink) sparse(e *entry, name string, h *vfs.Handle) error {
	sp := e.sparse
	if en := s.ns.SetAttr(h.Node, &vfs.Attr{Valid: vfs.AttrSize, Size: sp.size}); en != 0 {
		return fmt.Errorf("%s: a sparse file of %d bytes: %w", name, sp.size, en)
	}
	for _, f := range sp.frags {
		for at := f.off; at < f.off+f.n; {
			b := s.buf[:min(int64(len(s.buf)), f.off+f.n-at)]
			if err := sp.read(b); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := s.write(h, name, b, at); err != nil {
				return err
			}
			at += int64(len(b))
		}
	}
	a := &vfs.Attr{Valid: vfs.AttrSize | vfs.AttrMode | vfs.AttrAtime | vfs.AttrMtime,
		Size: sp.size, Mode: e.mode, Atime: e.atime, Mtime: e.mtime}
	if en := s.ns.SetAttr(h.Node, a); en != 0 {
		return fmt.Errorf("%s: %w", name, en)
	}
	e.size = sp.size
	return nil
}

// write writes b at off into the file being imported (h, named name), unless b is all zeros
// (a hole stays a hole), and counts it for Options.Progress.
func (s *sink) write(h *vfs.Handle, name string, b []byte, off int64) error {
	if !allZero(b) {
		if _, en := h.File.WriteAt(b, off); en != 0 {
			return fmt.Errorf("%s: %w", name, en)
		}
	}
	s.done += int64(len(b))
	if s.opts.Progress != nil {
		s.opts.Progress(s.done)
	}
	return nil
}

// finish applies the directories' modes and times, now that nothing more is added to them.
func (s *sink) finish() error {
	for _, m := range s.meta {
		a := &vfs.Attr{Valid: vfs.AttrMode | vfs.AttrAtime | vfs.AttrMtime, Mode: m.mode, Atime: m.atime, Mtime: m.mtime}
		if e := s.ns.SetAttr(m.n, a); e != 0 && e != vfs.ENOENT {
			return fmt.Errorf("setting the times of a directory: %w", e)
		}
	}
	return nil
}

func (s *sink) warn(format string, a ...any) {
	if s.opts.Warn != nil {
		s.opts.Warn(fmt.Sprintf(format, a...))
	}
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Copy copies the tree at srcDir in src (an absolute path; a final symlink is followed) into
// the directory dstDir of dst, which is created if missing; the tree's top directory becomes
// dstDir (its mode and times included). When srcDir is not a directory, the file is copied
// into dstDir under its base name. src and dst may be the same namespace, but dstDir must not
// be inside srcDir. See the package documentation for what is kept and how existing entries
// are replaced. Errors name the entry and wrap a vfs.Errno or ErrUnsafePath.
func Copy(dst *vfs.Namespace, dstDir string, src *vfs.Namespace, srcDir string, opts Options) (Stats, error) {
	s, err := newSink(dst, dstDir, opts)
	if err != nil {
		return Stats{}, err
	}
	err = walk(src, srcDir, func(e *entry, f vfs.File) error {
		var body io.Reader
		if f != nil {
			body = &fileReader{f: f, size: e.size}
		}
		return s.put(e, body)
	})
	if err == nil {
		err = s.finish()
	}
	return s.stats, err
}

// special is the warning for an entry that is not a file, directory or symlink.
func special(t vfs.FileType) string {
	kind := "a special file"
	switch t {
	case vfs.TypeCharDevice:
		kind = "a character device"
	case vfs.TypeBlockDevice:
		kind = "a block device"
	case vfs.TypeSocketDgram, vfs.TypeSocketStrm:
		kind = "a socket"
	}
	return kind + ": only files, directories, symlinks and hard links are kept"
}
