package boltkv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
)

// testStore writes a bbolt file of 4 KiB pages whose bucket "b" holds n keys of 200-byte
// values (a tree of height 2 from a few dozen keys on), and returns its path.
func testStore(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kv.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenBolt(path, BoltOptions{Buckets: []kv.BucketSpec{{Name: "b"}}, PageSize: 4096, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(w kv.Writer) error {
		for i := range n {
			if err := w.Put(0, fmt.Appendf(nil, "key%06d", i), bytes.Repeat([]byte{byte(i)}, 200)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// rawFile is a bbolt file in memory, for damaging it page by page.
type rawFile struct {
	b  []byte
	ps int
}

func (r *rawFile) page(id uint64) []byte { return r.b[int(id)*r.ps : int(id+1)*r.ps] }

// meta is the current meta page.
func (r *rawFile) meta() []byte {
	m0, m1 := r.page(0), r.page(1)
	if binary.LittleEndian.Uint64(m1[metaTxidOffset:]) > binary.LittleEndian.Uint64(m0[metaTxidOffset:]) {
		return m1
	}
	return m0
}

// bucketRoot returns the root page of the bucket name, found in the root bucket's one leaf.
func (r *rawFile) bucketRoot(t *testing.T, name string) uint64 {
	t.Helper()
	root := r.page(binary.LittleEndian.Uint64(r.meta()[metaRootOffset:]))
	if binary.LittleEndian.Uint16(root[8:]) != leafPageFlag {
		t.Fatal("the root bucket is not one leaf page")
	}
	for i := range int(binary.LittleEndian.Uint16(root[10:])) {
		e := root[pageHeaderSize+i*elementSize:]
		pos := pageHeaderSize + i*elementSize + int(binary.LittleEndian.Uint32(e[4:]))
		ksize := int(binary.LittleEndian.Uint32(e[8:]))
		if string(root[pos:pos+ksize]) == name {
			return binary.LittleEndian.Uint64(root[pos+ksize:])
		}
	}
	t.Fatalf("no bucket %q", name)
	return 0
}

// children returns the child page ids of the branch page id.
func (r *rawFile) children(t *testing.T, id uint64) []uint64 {
	t.Helper()
	p := r.page(id)
	if binary.LittleEndian.Uint16(p[8:]) != branchPageFlag {
		t.Fatalf("page %d is not a branch page", id)
	}
	var c []uint64
	for i := range int(binary.LittleEndian.Uint16(p[10:])) {
		c = append(c, binary.LittleEndian.Uint64(p[pageHeaderSize+i*elementSize+8:]))
	}
	return c
}

// makeBranch damages page id into a branch page whose children are to.
func (r *rawFile) makeBranch(id uint64, to ...uint64) {
	p := r.page(id)
	binary.LittleEndian.PutUint16(p[8:], branchPageFlag)
	binary.LittleEndian.PutUint16(p[10:], uint16(len(to)))
	binary.LittleEndian.PutUint32(p[12:], 0)
	for i, c := range to {
		e := p[pageHeaderSize+i*elementSize:]
		binary.LittleEndian.PutUint32(e, uint32((len(to)-i)*elementSize)) // key after the elements
		binary.LittleEndian.PutUint32(e[4:], 1)
		binary.LittleEndian.PutUint64(e[8:], c)
		p[pageHeaderSize+len(to)*elementSize] = 'k'
	}
}

// TestVerifyDamagedLeaves damages the leaf pages of a tree of height 2 (a bucket's root
// branch page over its leaves): each such file fails Open with ErrCorrupt, where bbolt would
// have recursed until the stack overflowed (a fatal error) or read garbage.
func TestVerifyDamagedLeaves(t *testing.T) {
	clean := testStore(t, 400)
	b, err := os.ReadFile(clean)
	if err != nil {
		t.Fatal(err)
	}
	r0 := &rawFile{b: b, ps: 4096}
	root := r0.bucketRoot(t, "b")
	leaves := r0.children(t, root)
	if len(leaves) < 4 {
		t.Fatalf("the tree has %d leaves", len(leaves))
	}
	last := leaves[len(leaves)-1]
	cases := []struct {
		name   string
		damage func(r *rawFile)
	}{
		{"second-leaf-branch-to-root", func(r *rawFile) { r.makeBranch(leaves[1], root) }},
		{"last-leaf-branch-to-root", func(r *rawFile) { r.makeBranch(last, root) }},
		{"leaf-branch-to-itself", func(r *rawFile) { r.makeBranch(leaves[2], leaves[2]) }},
		{"leaf-branch-to-a-sibling", func(r *rawFile) { r.makeBranch(leaves[2], leaves[3]) }},
		{"two-leaves-branch-to-each-other", func(r *rawFile) {
			r.makeBranch(leaves[1], leaves[2])
			r.makeBranch(leaves[2], leaves[1])
		}},
		{"leaf-says-another-id", func(r *rawFile) { binary.LittleEndian.PutUint64(r.page(leaves[1]), leaves[2]) }},
		{"leaf-is-a-freelist", func(r *rawFile) { binary.LittleEndian.PutUint16(r.page(leaves[1])[8:], freelistPageFlag) }},
		{"leaf-overflow-past-the-end", func(r *rawFile) { binary.LittleEndian.PutUint32(r.page(last)[12:], 1<<30) }},
		{"leaf-overflow-over-a-sibling", func(r *rawFile) {
			// Overflow pages that are other pages of the tree.
			for _, l := range leaves[:len(leaves)-1] {
				if l < last {
					binary.LittleEndian.PutUint32(r.page(l)[12:], uint32(last-l))
					return
				}
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &rawFile{b: bytes.Clone(b), ps: 4096}
			c.damage(r)
			path := filepath.Join(t.TempDir(), "damaged.db")
			if err := os.WriteFile(path, r.b, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, ro := range []bool{true, false} {
				s, err := OpenBolt(path, BoltOptions{Buckets: []kv.BucketSpec{{Name: "b"}}, ReadOnly: ro})
				if err == nil {
					s.Close()
					t.Fatalf("Open (read-only %v) of the damaged file succeeded", ro)
				}
				if !errors.Is(err, kv.ErrCorrupt) {
					t.Fatalf("Open: %v; want ErrCorrupt", err)
				}
				t.Log(err)
			}
		})
	}
	// The clean file opens and reads.
	s, err := OpenBolt(clean, BoltOptions{Buckets: []kv.BucketSpec{{Name: "b"}}, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	err = s.View(func(r kv.Reader) error { return r.Scan(0, nil, nil, func(_, _ []byte) bool { n++; return true }) })
	if err != nil || n != 400 {
		t.Errorf("Scan of the clean file: %d keys, %v", n, err)
	}
}

// TestVerifyLeafBudget checks which leaf headers verify reads without full: all of a tree's
// within the budget, the budget's worth beyond it (the others only marked); with full, every
// page as it walks (none left for the end).
func TestVerifyLeafBudget(t *testing.T) {
	path := testStore(t, 400)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &rawFile{b: b, ps: 4096}
	leaves := len(r.children(t, r.bucketRoot(t, "b")))
	txid := binary.LittleEndian.Uint64(r.meta()[metaTxidOffset:])
	for _, c := range []struct {
		full      bool
		budget    int
		read, not int
	}{{false, leafBudget, leaves, 0}, {false, 3, 3, leaves - 3}, {true, leafBudget, 0, 0}} {
		v := &verifier{f: f, ps: 4096, full: c.full, budget: c.budget}
		if err := v.run(txid); err != nil {
			t.Fatal(err)
		}
		if len(v.leaves) != c.read || v.unchecked != c.not {
			t.Errorf("full %v: %d leaves read at the end, %d unchecked; want %d and %d", c.full, len(v.leaves), v.unchecked, c.read, c.not)
		}
	}
}
