package tarfs

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Sparse files.
//
// archive/tar reads the holes of a sparse entry (old GNU 'S', PAX GNU.sparse 0.0, 0.1 and 1.0)
// back as zeros and has no public API for its sparse map (Go issue 22735), so copying the entry
// through tar.Reader costs its logical size: a few hundred bytes of archive declaring a file of
// 2^44 bytes kept an import busy for hours. Instead, tarfs reads the map itself and the data
// fragments straight from the stream, so an import costs what the archive holds:
//
//   - a tap under the tar.Reader records the raw bytes tar reads while Next parses an entry's
//     headers (the padding of the entry before, the PAX, long name and old GNU extension
//     blocks, and a 1.0 map at the start of the data), bounded by maxHeaderBytes;
//   - for a sparse entry, parseSparse walks those blocks again and reads the map: from the
//     old GNU header and its extension blocks, from the PAX records tar keeps
//     (GNU.sparse.map: tar folds 0.0's repeated offset and numbytes records into it), or from
//     the 1.0 map blocks; the physical size comes from the PAX size record or the header;
//   - the fragments' data is then read from the tap directly, past tar's back; the tap owes
//     tar those bytes and hands them to it as zeros when Next discards the rest of the entry,
//     without reading the stream, so tar's position and ours agree again.
//
// Everything rests on tar reading its stream in 512-byte blocks from the start, which the tar
// format itself imposes; tar has checked the map already (in order, no overlap, within the
// size) and parseSparse checks it again, with the data's size against the fragments' total.

// maxHeaderBytes bounds what the tap records of one entry's headers: archive/tar bounds each
// PAX header, long name and sparse map to 1 MiB, so a real archive stays far below it.
const maxHeaderBytes = 8 << 20

// tap is the reader under the tar.Reader: it counts the stream's bytes, records them while
// asked, and lets sparse data be read past tar (see owed).
type tap struct {
	r    io.Reader
	off  int64 // bytes read from r
	owed int64 // bytes read past tar: served to tar as zeros before anything more of r
	rec  []byte
	on   bool
	over bool // rec would have grown past maxHeaderBytes
}

func (t *tap) Read(p []byte) (int, error) {
	if t.owed > 0 {
		n := int(min(int64(len(p)), t.owed))
		clear(p[:n])
		t.owed -= int64(n)
		return n, nil
	}
	n, err := t.r.Read(p)
	t.off += int64(n)
	if t.on && n > 0 {
		if len(t.rec)+n > maxHeaderBytes {
			t.over = true
		} else {
			t.rec = append(t.rec, p[:n]...)
		}
	}
	return n, err
}

// direct reads into p from the stream past tar, which it then owes the bytes read.
func (t *tap) direct(p []byte) (int, error) {
	n, err := io.ReadFull(t.r, p)
	t.off += int64(n)
	t.owed += int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// record starts recording; it returns the stream offset of the first byte recorded.
func (t *tap) record() int64 {
	t.rec, t.on, t.over = t.rec[:0], true, false
	if cap(t.rec) > 1<<20 {
		t.rec = nil // do not keep a big buffer for every later entry
	}
	return t.off
}

// ErrSparse is wrapped by the error of Import and Check for a sparse entry whose map or data
// does not hold together: fragments out of order or overlapping, past the file's size, data
// missing or left over. (archive/tar refuses most such maps itself, as tar.ErrHeader.)
var ErrSparse = errors.New("malformed sparse file")

// fragment is a run of data of a sparse file; the rest is holes.
type fragment struct{ off, n int64 }

// sparseFile is the content of a sparse entry being read: its data fragments, read from the
// tap in order.
type sparseFile struct {
	t     *tap
	frags []fragment // non-empty fragments, in order
	size  int64      // logical size
	phys  int64      // bytes of data still to read
}

// read reads the next len(p) bytes of data (of fragments, in order).
func (s *sparseFile) read(p []byte) error {
	if int64(len(p)) > s.phys {
		return fmt.Errorf("%w: data runs past the entry", ErrSparse)
	}
	n, err := s.t.direct(p)
	s.phys -= int64(n)
	if err != nil {
		return fmt.Errorf("reading the archive: %w", err)
	}
	return nil
}

// skip reads the rest of the data and drops it, so tar can go on to the next entry.
func (s *sparseFile) skip(buf []byte) error {
	for s.phys > 0 {
		if err := s.read(buf[:min(int64(len(buf)), s.phys)]); err != nil {
			return err
		}
	}
	return nil
}

// The layout of the blocks parseSparse reads (see archive/tar's format.go).
const (
	blockSize       = 512
	typeflagOff     = 156
	sizeOff         = 124
	gnuSparseOff    = 386 // 4 entries of offset[12] length[12]
	gnuExtendedOff  = 482
	gnuRealSizeOff  = 483
	extExtendedOff  = 504 // 21 entries, then the flag
	sparseEntrySize = 24
	maxFragments    = 1 << 20 // archive/tar's maxSparseFileEntries
)

// sparseKind tells whether hdr (just returned by tar.Reader.Next) is a sparse entry, the way
// archive/tar decides it: "S" for old GNU, else 0.x or 1.0 by the GNU.sparse PAX records.
func sparseKind(hdr *tar.Header) string {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return "gnu"
	}
	major, minor := hdr.PAXRecords["GNU.sparse.major"], hdr.PAXRecords["GNU.sparse.minor"]
	switch {
	case major == "0" && (minor == "0" || minor == "1"):
		return "0.x"
	case major == "1" && minor == "0":
		return "1.0"
	case major != "" || minor != "":
		return ""
	case hdr.PAXRecords["GNU.sparse.map"] != "":
		return "0.x"
	}
	return ""
}

// parseSparse reads the sparse map of hdr, a sparse entry of the given kind, from t.rec, the
// bytes tar read while it parsed the entry's headers, the first at stream offset start.
func parseSparse(t *tap, hdr *tar.Header, kind string, start int64) (*sparseFile, error) {
	rec := t.rec
	if t.over {
		return nil, fmt.Errorf("%w: headers over %d bytes", ErrSparse, maxHeaderBytes)
	}
	// Skip the padding of the entry before, then the PAX and long name headers.
	p := int((blockSize - start%blockSize) % blockSize)
	for {
		if p+blockSize > len(rec) {
			return nil, fmt.Errorf("%w: cannot follow the archive's headers", ErrSparse)
		}
		b := rec[p : p+blockSize]
		switch b[typeflagOff] {
		case tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
			n, ok := parseNumeric(b[sizeOff : sizeOff+12])
			if !ok || n < 0 || n > int64(len(rec)) {
				return nil, fmt.Errorf("%w: cannot follow the archive's headers", ErrSparse)
			}
			p += blockSize + int((n+blockSize-1)/blockSize*blockSize)
			continue
		}
		break
	}
	hb := rec[p : p+blockSize]
	phys, ok := parseNumeric(hb[sizeOff : sizeOff+12])
	if v, set := hdr.PAXRecords["size"]; set {
		phys, _ = strconv.ParseInt(v, 10, 64)
	}
	if !ok || phys < 0 {
		return nil, fmt.Errorf("%w: bad size field", ErrSparse)
	}
	end := p + blockSize // where tar stopped reading, for the kinds but 1.0
	var frags []fragment
	add := func(off, n int64) error {
		if len(frags) >= maxFragments {
			return fmt.Errorf("%w: more than %d fragments", ErrSparse, maxFragments)
		}
		frags = append(frags, fragment{off, n})
		return nil
	}
	switch kind {
	case "gnu":
		// Four entries in the header, 21 in each extension block; an offset starting with
		// a NUL byte ends a block's list.
		entries, n, ext := hb[gnuSparseOff:], 4, hb[gnuExtendedOff]
		for {
			for i := range n {
				e := entries[i*sparseEntrySize:]
				if e[0] == 0 {
					break
				}
				off, ok1 := parseNumeric(e[:12])
				ln, ok2 := parseNumeric(e[12:24])
				if !ok1 || !ok2 {
					return nil, fmt.Errorf("%w: bad map entry", ErrSparse)
				}
				if err := add(off, ln); err != nil {
					return nil, err
				}
			}
			if ext == 0 {
				break
			}
			if end+blockSize > len(rec) {
				return nil, fmt.Errorf("%w: cannot follow the archive's headers", ErrSparse)
			}
			b := rec[end : end+blockSize]
			entries, n, ext = b, 21, b[extExtendedOff]
			end += blockSize
		}
	case "0.x":
		m := hdr.PAXRecords["GNU.sparse.map"]
		var f []string
		if m != "" {
			f = strings.Split(m, ",")
		}
		if len(f)%2 != 0 {
			return nil, fmt.Errorf("%w: odd number of map fields", ErrSparse)
		}
		for i := 0; i < len(f); i += 2 {
			off, err1 := strconv.ParseInt(f[i], 10, 64)
			ln, err2 := strconv.ParseInt(f[i+1], 10, 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("%w: bad map entry %q,%q", ErrSparse, f[i], f[i+1])
			}
			if err := add(off, ln); err != nil {
				return nil, err
			}
		}
	case "1.0":
		// The map is the start of the data: a count, then offset and length pairs, each
		// followed by a newline, padded to a block. tar read exactly those blocks.
		m := rec[end:]
		if len(m)%blockSize != 0 || int64(len(m)) > phys {
			return nil, fmt.Errorf("%w: cannot follow the sparse map", ErrSparse)
		}
		phys -= int64(len(m))
		end = len(rec)
		tok := func() (int64, error) {
			i := bytes.IndexByte(m, '\n')
			if i < 0 {
				return 0, fmt.Errorf("%w: the map ends early", ErrSparse)
			}
			v, err := strconv.ParseInt(string(m[:i]), 10, 64)
			m = m[i+1:]
			if err != nil {
				return 0, fmt.Errorf("%w: bad map number", ErrSparse)
			}
			return v, nil
		}
		n, err := tok()
		if err != nil {
			return nil, err
		}
		if n < 0 || n > maxFragments {
			return nil, fmt.Errorf("%w: %d fragments", ErrSparse, n)
		}
		for range n {
			off, err := tok()
			if err != nil {
				return nil, err
			}
			ln, err := tok()
			if err != nil {
				return nil, err
			}
			if err := add(off, ln); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("%w: unknown kind %q", ErrSparse, kind)
	}
	if end != len(rec) {
		return nil, fmt.Errorf("%w: cannot follow the archive's headers", ErrSparse)
	}
	return checkFragments(t, frags, hdr.Size, phys)
}

// checkFragments checks a sparse map against the file's size and its data's (phys): fragments
// in order, not overlapping, within the size, and as much data as they cover. Empty fragments
// are dropped.
func checkFragments(t *tap, frags []fragment, size, phys int64) (*sparseFile, error) {
	if size < 0 {
		return nil, fmt.Errorf("%w: size %d", ErrSparse, size)
	}
	out := frags[:0]
	var end, total int64
	for _, f := range frags {
		switch {
		case f.off < 0 || f.n < 0 || f.off > math.MaxInt64-f.n:
			return nil, fmt.Errorf("%w: fragment of %d bytes at %d", ErrSparse, f.n, f.off)
		case f.off+f.n > size:
			return nil, fmt.Errorf("%w: fragment of %d bytes at %d runs past the size %d", ErrSparse, f.n, f.off, size)
		case f.off < end:
			return nil, fmt.Errorf("%w: fragment at %d overlaps or precedes the one before, which ends at %d", ErrSparse, f.off, end)
		}
		end = f.off + f.n
		total += f.n
		if f.n > 0 {
			out = append(out, f)
		}
	}
	if total != phys {
		return nil, fmt.Errorf("%w: the map covers %d bytes of data, the entry holds %d", ErrSparse, total, phys)
	}
	return &sparseFile{t: t, frags: out, size: size, phys: phys}, nil
}

// parseNumeric parses a numeric field of a tar header as archive/tar does: base-256 when the
// high bit of the first byte is set, else octal, with leading and trailing spaces and NULs
// trimmed and the rest cut at a NUL.
func parseNumeric(b []byte) (int64, bool) {
	if len(b) > 0 && b[0]&0x80 != 0 {
		// Two's complement, big-endian, the first byte's high bit a marker.
		var inv byte
		if b[0]&0x40 != 0 {
			inv = 0xff
		}
		var x uint64
		for i, c := range b {
			c ^= inv
			if i == 0 {
				c &= 0x7f
			}
			if x>>56 > 0 {
				return 0, false
			}
			x = x<<8 | uint64(c)
		}
		if x>>63 > 0 {
			return 0, false
		}
		if inv == 0xff {
			return ^int64(x), true
		}
		return int64(x), true
	}
	b = bytes.Trim(b, " \x00")
	if len(b) == 0 {
		return 0, true
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	x, err := strconv.ParseUint(string(b), 8, 64)
	if err != nil || x > math.MaxInt64 {
		return 0, false
	}
	return int64(x), true
}
