package tarfs

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/wasmrun/wasmrun/vfs"
)

// Export writes the tree at dir of ns (an absolute path; a final symlink is followed) to w as
// a tar stream in PAX format, names relative to dir in GNU tar's style ("./" for dir itself,
// then "./a", "./a/b"...), a directory before its entries and each directory's entries sorted
// by name. When dir is not a directory the archive holds that one file under its base name.
// Files are read through the namespace; a file that changes size while it is read is cut or
// padded with zeros to the size it had when its header was written. Errors name the entry and
// wrap a vfs.Errno, or are w's.
func Export(w io.Writer, ns *vfs.Namespace, dir string, opts Options) (Stats, error) {
	tw := tar.NewWriter(w)
	var s Stats
	buf := make([]byte, chunk)
	err := walk(ns, dir, func(e *entry, f vfs.File) error {
		hdr := &tar.Header{
			Name:       tarName(e.name),
			Mode:       int64(e.mode & 0o7777),
			ModTime:    time.Unix(0, e.mtime),
			AccessTime: time.Unix(0, e.atime),
			Format:     tar.FormatPAX,
		}
		switch {
		case e.linkTo != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, tarName(e.linkTo)
		case e.typ == vfs.TypeDir:
			hdr.Typeflag = tar.TypeDir
			if hdr.Name != "./" {
				hdr.Name += "/"
			}
		case e.typ == vfs.TypeRegular:
			hdr.Typeflag, hdr.Size = tar.TypeReg, e.size
		case e.typ == vfs.TypeSymlink:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.target
		default:
			if opts.Warn != nil {
				opts.Warn(fmt.Sprintf("%s: skipped: %s", e.name, special(e.typ)))
			}
			s.Skipped++
			return nil
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		s.count(e)
		if f == nil {
			return nil
		}
		r := &fileReader{f: f, size: e.size}
		done := s.Bytes - e.size
		for {
			n, err := io.ReadFull(r, buf)
			if n > 0 {
				if _, err := tw.Write(buf[:n]); err != nil {
					return fmt.Errorf("%s: %w", e.name, err)
				}
				done += int64(n)
				if opts.Progress != nil {
					opts.Progress(done)
				}
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
		}
	})
	if err != nil {
		return s, err
	}
	return s, tw.Close()
}

// tarName is the archive name of an entry name.
func tarName(name string) string {
	if name == "." {
		return "./"
	}
	return "./" + name
}

// reader reads tar entries from r, which may be gzip-compressed. A sparse entry's content is
// read past the tar.Reader, through a tap (see sparse.go).
type reader struct {
	tr  *tar.Reader
	t   *tap
	sp  *sparseFile // the current entry's, if it is sparse
	buf []byte      // for skipping sparse data
}

func newReader(r io.Reader) (*reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	t := &tap{r: br}
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		t.r = zr
	}
	return &reader{tr: tar.NewReader(t), t: t}, nil
}

// next returns the next entry and its content (nil at the end), or skip for an entry with no
// meaning here (a global PAX header: nothing to warn about). The content of a sparse entry is
// e.sparse, not body. Whatever the caller left unread of the entry before is skipped.
func (r *reader) next() (e *entry, body io.Reader, skip bool, err error) {
	if r.sp != nil {
		if r.buf == nil {
			r.buf = make([]byte, 64<<10)
		}
		if err := r.sp.skip(r.buf); err != nil {
			return nil, nil, false, err
		}
		r.sp = nil
	} else if _, err := io.Copy(io.Discard, r.tr); err != nil {
		return nil, nil, false, fmt.Errorf("reading the archive: %w", err)
	}
	start := r.t.record()
	hdr, err := r.tr.Next()
	r.t.on = false
	if err == io.EOF {
		return nil, nil, false, io.EOF
	}
	if err != nil {
		if errors.Is(err, tar.ErrInsecurePath) {
			err = nil // archive/tar's GODEBUG=tarinsecurepath=0 check: ours is cleanName
		} else {
			return nil, nil, false, fmt.Errorf("reading the archive: %w", err)
		}
	}
	var sp *sparseFile
	if kind := sparseKind(hdr); kind != "" && hdr.Typeflag != tar.TypeXGlobalHeader {
		if sp, err = parseSparse(r.t, hdr, kind, start); err != nil {
			return nil, nil, false, fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
	e = &entry{
		name:  hdr.Name,
		mode:  uint32(hdr.Mode & 0o7777),
		mtime: hdr.ModTime.UnixNano(),
		atime: hdr.ModTime.UnixNano(),
		size:  hdr.Size,
	}
	if !hdr.AccessTime.IsZero() {
		e.atime = hdr.AccessTime.UnixNano()
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse, tar.TypeCont:
		e.typ = vfs.TypeRegular
		if e.sparse = sp; sp == nil {
			body = r.tr
		}
	case tar.TypeDir:
		e.typ = vfs.TypeDir
	case tar.TypeSymlink:
		e.typ, e.target = vfs.TypeSymlink, hdr.Linkname
	case tar.TypeLink:
		e.typ, e.linkTo = vfs.TypeRegular, hdr.Linkname
	case tar.TypeChar:
		e.typ = vfs.TypeCharDevice
	case tar.TypeBlock:
		e.typ = vfs.TypeBlockDevice
	case tar.TypeXGlobalHeader:
		return e, nil, true, nil
	default:
		e.typ = vfs.TypeUnknown // FIFOs and the rest: skipped with a warning
	}
	r.sp = sp
	return e, body, false, nil
}

// Import reads a tar archive (plain, or gzip-compressed: recognised by its magic number) from r
// into the directory dir of ns (an absolute path; a final symlink is followed), which is
// created, with its missing parents, if it does not exist. Names in the archive are relative to
// dir; an entry "./" (or ".") sets dir's own mode and times. See the package documentation for
// what is kept, what is refused (ErrUnsafePath) and how existing entries are replaced. Import
// stops at the first error, leaving the entries before it imported. Errors name the entry and
// wrap a vfs.Errno, ErrUnsafePath, or the archive's read error.
func Import(ns *vfs.Namespace, dir string, r io.Reader, opts Options) (Stats, error) {
	tr, err := newReader(r)
	if err != nil {
		return Stats{}, err
	}
	s, err := newSink(ns, dir, opts)
	if err != nil {
		return Stats{}, err
	}
	for {
		e, body, skip, err := tr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.stats, err
		}
		if skip {
			continue
		}
		if err := s.put(e, body); err != nil {
			return s.stats, err
		}
	}
	return s.stats, s.finish()
}

// Check reads the archive in r through (plain or gzip-compressed) without writing anything, and
// returns the first entry Import would refuse as unsafe (ErrUnsafePath): an absolute name, a
// ".." element, a path through a symlink of the archive (a hard link to a symlink is one too),
// or a hard link to something that is not an earlier file or symlink entry (a directory, or a
// device or FIFO, which Import skips). It cannot know the target's own symlinks, which Import
// refuses when it meets them. It also returns the archive's read error, if any.
func Check(r io.Reader) error {
	tr, err := newReader(r)
	if err != nil {
		return err
	}
	kinds := map[string]vfs.FileType{} // entries so far
	for {
		e, _, skip, err := tr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		name, err := cleanName(e.name)
		if err != nil {
			return err
		}
		for p := name; p != "."; {
			p, _ = splitName(p)
			if kinds[p] == vfs.TypeSymlink {
				return fmt.Errorf("%s: %s is a symlink of the archive: %w", name, p, ErrUnsafePath)
			}
		}
		typ := e.typ
		if e.linkTo != "" {
			to, err := cleanName(e.linkTo)
			if err != nil {
				return fmt.Errorf("%s: hard link: %w", name, err)
			}
			// What Import places: files and symlinks, not skipped entries nor directories.
			typ = kinds[to]
			if typ != vfs.TypeRegular && typ != vfs.TypeSymlink {
				return fmt.Errorf("%s: hard link to %q, which is not an earlier file of the archive: %w", name, e.linkTo, ErrUnsafePath)
			}
		}
		switch typ {
		case vfs.TypeDir, vfs.TypeRegular, vfs.TypeSymlink:
			kinds[name] = typ
		}
		// A skipped entry (a device, a FIFO) leaves what was there.
	}
}
