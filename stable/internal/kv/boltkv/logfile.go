package boltkv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// The log file format. All integers are little-endian.
//
// The header, at offset 0, is written only when the log is reset (after a checkpoint):
//
//	magic   [8]byte "wrunWAL1"
//	salt    uint64  the store's log salt, also kept in the inner store
//	gen     uint64  the generation, also kept in the inner store
//	_       uint32  zero
//	crc     uint32  CRC32C of the 28 bytes before it
//
// Records follow it back to back, one per commit:
//
//	magic   uint32  recMagic
//	length  uint32  of the payload
//	gen     uint64  the generation the record was written in
//	crc     uint32  CRC32C of salt, gen, length and the payload
//	payload         the commit's operations, in order
//
// An operation is a kind byte, a bucket byte, and uvarint-prefixed byte strings: the key (and
// the value of a put), or the bounds of a range delete (from, then to with its length plus one,
// zero meaning no upper bound).
const (
	logMagic      = "wrunWAL1"
	logHeaderSize = 32
	recMagic      = 0x4c41571e
	recHeaderSize = 20
	// maxRecord bounds the payload a parser accepts, so that garbage cannot make it allocate.
	maxRecord = 1 << 30
)

const (
	opPut byte = 1 + iota
	opDelete
	opDeleteRange
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// logHeader is the decoded header of a log file.
type logHeader struct{ salt, gen uint64 }

func (h logHeader) encode() []byte {
	b := make([]byte, logHeaderSize)
	copy(b, logMagic)
	binary.LittleEndian.PutUint64(b[8:], h.salt)
	binary.LittleEndian.PutUint64(b[16:], h.gen)
	binary.LittleEndian.PutUint32(b[28:], crc32.Checksum(b[:28], castagnoli))
	return b
}

func decodeHeader(b []byte) (logHeader, bool) {
	if len(b) < logHeaderSize || string(b[:8]) != logMagic ||
		binary.LittleEndian.Uint32(b[28:]) != crc32.Checksum(b[:28], castagnoli) {
		return logHeader{}, false
	}
	return logHeader{salt: binary.LittleEndian.Uint64(b[8:]), gen: binary.LittleEndian.Uint64(b[16:])}, true
}

// op is one change of a commit.
type op struct {
	kind     byte
	b        kv.Bucket
	key, val []byte // val: the value of a put, the upper bound of a range delete (nil: none)
}

func (o *op) size() int {
	n := 2 + binary.MaxVarintLen32 + len(o.key)
	if o.kind != opDelete {
		n += binary.MaxVarintLen32 + len(o.val)
	}
	return n
}

// encodeRecord returns the record of ops, of generation gen of a log of salt salt.
func encodeRecord(ops []op, salt, gen uint64) []byte {
	return appendRecord(make([]byte, 0, recordSize(ops)), ops, salt, gen)
}

// recordSize returns a bound of the size of the record of ops.
func recordSize(ops []op) int {
	n := recHeaderSize
	for i := range ops {
		n += ops[i].size()
	}
	return n
}

// appendRecord encodes the record of ops into b[:0], which should have room for
// recordSize(ops) bytes.
func appendRecord(b []byte, ops []op, salt, gen uint64) []byte {
	b = append(b[:0], make([]byte, recHeaderSize)...)
	for i := range ops {
		o := &ops[i]
		b = append(b, o.kind, byte(o.b))
		b = binary.AppendUvarint(b, uint64(len(o.key)))
		b = append(b, o.key...)
		switch o.kind {
		case opPut:
			b = binary.AppendUvarint(b, uint64(len(o.val)))
			b = append(b, o.val...)
		case opDeleteRange:
			if o.val == nil {
				b = append(b, 0)
			} else {
				b = binary.AppendUvarint(b, uint64(len(o.val))+1)
				b = append(b, o.val...)
			}
		}
	}
	binary.LittleEndian.PutUint32(b[0:], recMagic)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-recHeaderSize))
	binary.LittleEndian.PutUint64(b[8:], gen)
	binary.LittleEndian.PutUint32(b[16:], recordCRC(b, salt))
	return b
}

// recordCRC is the checksum of the record in b (header and payload), with the salt mixed in so
// that a record left over from another store's log never passes.
func recordCRC(b []byte, salt uint64) uint32 {
	var s [8]byte
	binary.LittleEndian.PutUint64(s[:], salt)
	c := crc32.Update(0, castagnoli, s[:])
	c = crc32.Update(c, castagnoli, b[4:16])
	return crc32.Update(c, castagnoli, b[recHeaderSize:])
}

// errBadPayload means a record passed its checksum but its payload does not decode: not a
// torn write, a bug or deliberate damage.
var errBadPayload = errors.New("log record with a valid checksum does not decode")

// decodeOps decodes a record's payload. The slices it returns alias p.
func decodeOps(p []byte) ([]op, error) {
	var ops []op
	str := func() ([]byte, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) || k != uvarintLen(n) {
			return nil, false
		}
		s := p[k : k+int(n) : k+int(n)]
		p = p[k+int(n):]
		return s, true
	}
	for len(p) > 0 {
		if len(p) < 2 {
			return nil, errBadPayload
		}
		o := op{kind: p[0], b: kv.Bucket(p[1])}
		p = p[2:]
		var ok bool
		if o.key, ok = str(); !ok {
			return nil, errBadPayload
		}
		switch o.kind {
		case opPut:
			if o.val, ok = str(); !ok {
				return nil, errBadPayload
			}
		case opDelete:
		case opDeleteRange:
			n, k := binary.Uvarint(p)
			if k <= 0 || n > uint64(len(p)-k)+1 || k != uvarintLen(n) {
				return nil, errBadPayload
			}
			if n > 0 {
				o.val = p[k : k+int(n-1) : k+int(n-1)]
				p = p[k+int(n-1):]
			} else {
				p = p[k:]
			}
		default:
			return nil, errBadPayload
		}
		ops = append(ops, o)
	}
	return ops, nil
}

// uvarintLen is the length of n's (shortest) uvarint encoding, the only one decodeOps accepts,
// so that a log has one decoding and one encoding.
func uvarintLen(n uint64) int {
	k := 1
	for ; n >= 0x80; n >>= 7 {
		k++
	}
	return k
}

// parseLog reads the log in data, written for a store whose log salt and generation are salt
// and gen: it returns the commits of the longest valid prefix of records of that generation
// and the offset where the next record goes. The slices of the ops alias data.
//
// What ends the prefix tells a torn tail from damage. A record cut short, or one that fails its
// checksum with no valid record of this generation anywhere after it, is the tail a crash tore
// (the commit of at most one record was in flight, never reported durable): it is dropped, and
// err is nil. Damage is returned as a *logDamage error (Is kv.ErrCorrupt and kv.ErrLoss), with
// the commits before it: a bad record followed by valid records of this generation (records
// are appended one at a time, each synced before the next is written, so valid ones after a bad
// one prove the bad one was synced once); a record that passes its checksum but does not
// decode; a header that is not a log header at all (nor zeros: a header never written, see
// below) or whose checksum fails while
// valid records of this generation follow it; a header of this store of a generation newer than
// the store's. A header of another store (its salt) or of an older generation (checkpointed)
// means a log with nothing to replay, as does an empty or all-zero file, a header of zeros
// (never written: a power cut dropped it and kept records written after it, never synced), or
// a torn header with no valid record after it.
//
// Records carry no sequence number and their checksums are not chained, so a record cut out
// whole (the records around it intact) is not found; damage on a disk flips, zeroes or cuts
// bytes, which is.
func parseLog(data []byte, salt, gen uint64) (commits [][]op, end int, err error) {
	dmg := func(off int, what string) error {
		d := &logDamage{off: int64(off), what: what}
		d.records, d.end = validAfter(data, off, salt, gen)
		d.end = max(d.end, int64(off))
		return d
	}
	h, ok := decodeHeader(data)
	switch {
	case ok && h.salt == salt && h.gen > gen:
		return nil, logHeaderSize, dmg(0, fmt.Sprintf("the header is of generation %d, newer than the store's %d (is the store file older than its log?)", h.gen, gen))
	case ok && (h.salt != salt || h.gen != gen):
		return nil, logHeaderSize, nil
	case !ok:
		if allZero(data[:min(len(data), logHeaderSize)]) {
			// A header never written: a new log's first header, whose write a power cut
			// dropped. Records after it were written in the same unsynced window (the first
			// record's fdatasync makes the header durable with it) and were never reported
			// durable: nothing to replay (the open then moves the generation on, so that they
			// never come back).
			return nil, logHeaderSize, nil
		}
		if n, _ := validAfter(data, 0, salt, gen); n > 0 {
			return nil, logHeaderSize, dmg(0, "the header is damaged")
		}
		if len(data) > logHeaderSize && !allZero(data[logHeaderSize:]) && !tornMagic(data) {
			return nil, logHeaderSize, dmg(0, "the file is not a log: its header is not a log header")
		}
		// A header torn while it was first written or rewritten (no record was synced
		// after it), or a file of zeros: nothing to replay.
		return nil, logHeaderSize, nil
	}
	off := logHeaderSize
	for len(data)-off >= recHeaderSize {
		r, ok := recordAt(data, off, salt, gen)
		if !ok {
			break
		}
		ops, err := decodeOps(r[recHeaderSize:])
		if err != nil {
			return commits, off, dmg(off, "a record passes its checksum but does not decode")
		}
		commits = append(commits, ops)
		off += len(r)
	}
	if n, _ := validAfter(data, off, salt, gen); n > 0 {
		return commits, off, dmg(off, "a record is damaged")
	}
	return commits, off, nil
}

// recordAt returns the record at off in data if it is whole, of generation gen and passes its
// checksum.
func recordAt(data []byte, off int, salt, gen uint64) ([]byte, bool) {
	if len(data)-off < recHeaderSize {
		return nil, false
	}
	r := data[off:]
	n := binary.LittleEndian.Uint32(r[4:])
	if binary.LittleEndian.Uint32(r) != recMagic || n > maxRecord || uint64(n) > uint64(len(r)-recHeaderSize) ||
		binary.LittleEndian.Uint64(r[8:]) != gen {
		return nil, false
	}
	r = r[:recHeaderSize+int(n)]
	if binary.LittleEndian.Uint32(r[16:]) != recordCRC(r, salt) {
		return nil, false
	}
	return r, true
}

// validAfter counts the valid records of generation gen that start after offset off (at any
// offset: what is between them may be damaged), and returns the end of the last one.
func validAfter(data []byte, off int, salt, gen uint64) (n int, end int64) {
	var magic [4]byte
	binary.LittleEndian.PutUint32(magic[:], recMagic)
	for pos := off + 1; pos < len(data); {
		i := bytes.Index(data[pos:], magic[:])
		if i < 0 {
			break
		}
		pos += i
		if r, ok := recordAt(data, pos, salt, gen); ok {
			n++
			pos += len(r)
			end = int64(pos)
			continue
		}
		pos++
	}
	return n, end
}

// tornMagic reports whether the first bytes of data could be the log's magic torn by a crash
// during its write: each byte is the magic's or zero.
func tornMagic(data []byte) bool {
	for i := 0; i < len(logMagic) && i < len(data); i++ {
		if data[i] != logMagic[i] && data[i] != 0 {
			return false
		}
	}
	return true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// logDamage is the error of a damaged log (see parseLog): what was found at off, and the valid
// records after it, up to end, which a replay cannot apply (the damaged part is lost).
type logDamage struct {
	path    string // the log's, set by the WAL
	off     int64
	what    string
	records int
	end     int64
}

func (d *logDamage) Error() string {
	msg := fmt.Sprintf("log %s is damaged, not torn: at offset %d %s", d.path, d.off, d.what)
	if d.records > 0 {
		msg += fmt.Sprintf(", and %d valid %s follow (to offset %d)", d.records, plural(d.records, "record", "records"), d.end)
	}
	return msg + fmt.Sprintf("; replaying it would drop %d bytes of committed changes (opening it anyway keeps a copy of the log as %s%s)",
		max(d.end-d.off, 0), d.path, DamagedSuffix)
}

func (d *logDamage) Is(target error) bool { return target == kv.ErrCorrupt || target == kv.ErrLoss }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// apply applies the ops of one commit, in order, to o.
func (o *overlay) apply(ops []op) {
	for i := range ops {
		p := &ops[i]
		switch p.kind {
		case opPut:
			o.put(p.b, p.key, p.val)
		case opDelete:
			o.del(p.b, p.key)
		case opDeleteRange:
			o.delRange(p.b, p.key, p.val)
		}
	}
}
