package stable

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

// The model test applies random operations to an FS and to a trivially correct model, commits,
// crashes and reopens at random, and compares the two after every step that changes the
// store's life: after a crash the FS must be exactly the model as of the last commit.

type mnode struct {
	typ    vfs.FileType
	data   []byte
	target string
	nlink  uint64
	ents   map[string]vfs.Ino
	parent vfs.Ino
}

type model map[vfs.Ino]*mnode

func (m model) clone() model {
	c := make(model, len(m))
	for ino, n := range m {
		cn := *n
		cn.data = slices.Clone(n.data)
		cn.ents = maps.Clone(n.ents)
		c[ino] = &cn
	}
	return c
}

// seedFor returns the seed of a randomised test: $STABLE_SEED if set, else a fresh one. It
// logs it so a failure can be replayed.
func seedFor(t testing.TB) uint64 {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("STABLE_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("STABLE_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with STABLE_SEED=%d)", seed, seed)
	return seed
}

type handle struct {
	ino vfs.Ino
	h   vfs.File
}

type modelRun struct {
	t        *testing.T
	rng      *rand.Rand
	path     string
	opts     Options
	f        *FS
	m        model
	snap     model // as of the last commit
	handles  []handle
	canCrash bool // commits happen only when the test asks (so a crash has a known state)
	log      []string
}

func (r *modelRun) logf(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf(format, args...))
	if len(r.log) > 40 {
		r.log = r.log[1:]
	}
}

func (r *modelRun) fatalf(format string, args ...any) {
	r.t.Helper()
	for _, l := range r.log {
		r.t.Log(l)
	}
	r.t.Fatalf(format, args...)
}

var modelNames = []string{"a", "b", "c", "d", "e", "f", "g", "h", "long-" + string(bytes.Repeat([]byte("n"), 200))}

func (r *modelRun) dirs() []vfs.Ino {
	var ds []vfs.Ino
	for ino, n := range r.m {
		if n.typ == vfs.TypeDir && n.nlink > 0 {
			ds = append(ds, ino)
		}
	}
	slices.Sort(ds)
	return ds
}

func (r *modelRun) files() []vfs.Ino {
	var fs []vfs.Ino
	for ino, n := range r.m {
		if n.typ == vfs.TypeRegular && n.nlink > 0 {
			fs = append(fs, ino)
		}
	}
	slices.Sort(fs)
	return fs
}

func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

func (r *modelRun) isAncestor(a, d vfs.Ino) bool {
	for {
		if d == a {
			return true
		}
		if d == rootIno {
			return false
		}
		d = r.m[d].parent
	}
}

func (r *modelRun) want(got, want vfs.Errno, op string) {
	r.t.Helper()
	if got != want {
		r.fatalf("%s = %v, want %v", op, got, want)
	}
}

// free removes n from the model if nothing refers to it.
func (r *modelRun) maybeFree(ino vfs.Ino) {
	n := r.m[ino]
	if n.nlink != 0 {
		return
	}
	for _, h := range r.handles {
		if h.ino == ino {
			return
		}
	}
	delete(r.m, ino)
}

func (r *modelRun) step() {
	rng := r.rng
	switch op := rng.IntN(100); {
	case op < 20: // create
		d := pick(rng, r.dirs())
		name := pick(rng, modelNames)
		typ := pick(rng, []vfs.FileType{vfs.TypeRegular, vfs.TypeRegular, vfs.TypeDir, vfs.TypeSymlink})
		target := "t/" + strconv.Itoa(rng.IntN(1000))
		ino, e := r.f.Create(d, name, typ, 0o644, target)
		r.logf("create %d/%s %v = %d %v", d, name, typ, ino, e)
		if _, ok := r.m[d].ents[name]; ok {
			r.want(e, vfs.EEXIST, "create existing")
			return
		}
		r.want(e, vfs.ESUCCESS, "create")
		n := &mnode{typ: typ, nlink: 1}
		switch typ {
		case vfs.TypeDir:
			n.nlink, n.ents, n.parent = 2, map[string]vfs.Ino{}, d
			r.m[d].nlink++
		case vfs.TypeSymlink:
			n.target = target
		}
		if r.m[ino] != nil {
			r.fatalf("create returned ino %d in use", ino)
		}
		r.m[ino] = n
		r.m[d].ents[name] = ino
	case op < 40: // write
		fs := r.files()
		if len(fs) == 0 {
			return
		}
		ino := pick(rng, fs)
		ps := int(r.f.ps)
		off := rng.IntN(4 * ps)
		if rng.IntN(10) == 0 {
			off += rng.IntN(50) * ps
		}
		n := rng.IntN(ps*5/2) + 1
		data := make([]byte, n)
		b := byte(rng.IntN(256))
		for i := range data {
			data[i] = b + byte(i)
		}
		if rng.IntN(5) == 0 {
			clear(data) // zero pages must not be stored
		}
		h, e := r.f.Open(ino, vfs.OpenWrite)
		r.want(e, vfs.ESUCCESS, "open")
		w, e := h.WriteAt(data, int64(off))
		r.logf("write %d off %d len %d = %d %v", ino, off, n, w, e)
		r.want(e, vfs.ESUCCESS, "write")
		r.want(h.Close(), vfs.ESUCCESS, "close")
		mn := r.m[ino]
		if len(mn.data) < off+n {
			mn.data = append(mn.data, make([]byte, off+n-len(mn.data))...)
		}
		copy(mn.data[off:], data)
	case op < 48: // truncate
		fs := r.files()
		if len(fs) == 0 {
			return
		}
		ino := pick(rng, fs)
		mn := r.m[ino]
		size := rng.IntN(len(mn.data) + 2*int(r.f.ps) + 1)
		e := r.f.SetAttr(ino, &vfs.Attr{Valid: vfs.AttrSize, Size: int64(size)})
		r.logf("truncate %d to %d = %v", ino, size, e)
		r.want(e, vfs.ESUCCESS, "truncate")
		if size < len(mn.data) {
			mn.data = mn.data[:size]
		} else {
			mn.data = append(mn.data, make([]byte, size-len(mn.data))...)
		}
	case op < 58: // remove
		d := pick(rng, r.dirs())
		name := pick(rng, modelNames)
		dirOnly := rng.IntN(3) == 0
		e := r.f.Remove(d, name, dirOnly)
		r.logf("remove %d/%s dirOnly=%v = %v", d, name, dirOnly, e)
		ino, ok := r.m[d].ents[name]
		if !ok {
			r.want(e, vfs.ENOENT, "remove missing")
			return
		}
		n := r.m[ino]
		switch {
		case dirOnly && n.typ != vfs.TypeDir:
			r.want(e, vfs.ENOTDIR, "rmdir file")
			return
		case !dirOnly && n.typ == vfs.TypeDir:
			r.want(e, vfs.EISDIR, "unlink dir")
			return
		case n.typ == vfs.TypeDir && len(n.ents) > 0:
			r.want(e, vfs.ENOTEMPTY, "rmdir nonempty")
			return
		}
		r.want(e, vfs.ESUCCESS, "remove")
		delete(r.m[d].ents, name)
		if n.typ == vfs.TypeDir {
			n.nlink = 0
			r.m[d].nlink--
		} else {
			n.nlink--
		}
		r.maybeFree(ino)
	case op < 70: // rename
		od, nd := pick(rng, r.dirs()), pick(rng, r.dirs())
		on, nn := pick(rng, modelNames), pick(rng, modelNames)
		e := r.f.Rename(od, on, nd, nn)
		r.logf("rename %d/%s -> %d/%s = %v", od, on, nd, nn, e)
		src, ok := r.m[od].ents[on]
		if !ok {
			r.want(e, vfs.ENOENT, "rename missing")
			return
		}
		dst, exists := r.m[nd].ents[nn]
		if exists && dst == src {
			r.want(e, vfs.ESUCCESS, "rename onto itself")
			return
		}
		sn := r.m[src]
		if sn.typ == vfs.TypeDir && r.isAncestor(src, nd) {
			r.want(e, vfs.EINVAL, "rename into own subtree")
			return
		}
		if exists {
			dn := r.m[dst]
			switch {
			case sn.typ == vfs.TypeDir && dn.typ != vfs.TypeDir:
				r.want(e, vfs.ENOTDIR, "rename dir onto file")
				return
			case sn.typ != vfs.TypeDir && dn.typ == vfs.TypeDir:
				r.want(e, vfs.EISDIR, "rename file onto dir")
				return
			case dn.typ == vfs.TypeDir && len(dn.ents) > 0:
				r.want(e, vfs.ENOTEMPTY, "rename onto nonempty dir")
				return
			}
		}
		r.want(e, vfs.ESUCCESS, "rename")
		if exists {
			dn := r.m[dst]
			if dn.typ == vfs.TypeDir {
				dn.nlink = 0
				r.m[nd].nlink--
			} else {
				dn.nlink--
			}
			delete(r.m[nd].ents, nn)
			r.maybeFree(dst)
		}
		delete(r.m[od].ents, on)
		r.m[nd].ents[nn] = src
		if sn.typ == vfs.TypeDir {
			r.m[od].nlink--
			r.m[nd].nlink++
			sn.parent = nd
		}
	case op < 75: // link
		fs := r.files()
		if len(fs) == 0 {
			return
		}
		ino := pick(rng, fs)
		d := pick(rng, r.dirs())
		name := pick(rng, modelNames)
		e := r.f.Link(ino, d, name)
		r.logf("link %d -> %d/%s = %v", ino, d, name, e)
		if _, ok := r.m[d].ents[name]; ok {
			r.want(e, vfs.EEXIST, "link existing")
			return
		}
		r.want(e, vfs.ESUCCESS, "link")
		r.m[d].ents[name] = ino
		r.m[ino].nlink++
	case op < 80: // open a handle (kept across unlinks)
		fs := r.files()
		if len(fs) == 0 || len(r.handles) > 5 {
			return
		}
		ino := pick(rng, fs)
		h, e := r.f.Open(ino, vfs.OpenRead|vfs.OpenWrite)
		r.logf("open %d = %v", ino, e)
		r.want(e, vfs.ESUCCESS, "open")
		r.handles = append(r.handles, handle{ino, h})
	case op < 84: // write through a handle, maybe of an unlinked file
		if len(r.handles) == 0 {
			return
		}
		h := pick(rng, r.handles)
		data := []byte(fmt.Sprintf("handle write %d", rng.IntN(1000)))
		off := rng.IntN(3 * int(r.f.ps))
		_, e := h.h.WriteAt(data, int64(off))
		r.logf("handle write %d off %d = %v", h.ino, off, e)
		r.want(e, vfs.ESUCCESS, "handle write")
		mn := r.m[h.ino]
		if len(mn.data) < off+len(data) {
			mn.data = append(mn.data, make([]byte, off+len(data)-len(mn.data))...)
		}
		copy(mn.data[off:], data)
		r.checkFile(h.ino, h.h)
	case op < 88: // close a handle
		if len(r.handles) == 0 {
			return
		}
		i := rng.IntN(len(r.handles))
		h := r.handles[i]
		r.handles = slices.Delete(r.handles, i, i+1)
		r.logf("close %d", h.ino)
		r.want(h.h.Close(), vfs.ESUCCESS, "close")
		r.maybeFree(h.ino)
	case op < 93: // commit
		r.logf("commit")
		r.want(r.f.Commit(), vfs.ESUCCESS, "commit")
		r.snap = r.m.clone()
	case op < 96: // crash or clean reopen
		if r.canCrash && rng.IntN(2) == 0 {
			r.logf("crash")
			crash(r.t, r.f)
			r.m = r.snap.clone()
		} else {
			r.logf("close")
			for _, h := range r.handles {
				h.h.Close()
			}
			if err := r.f.Close(); err != nil {
				r.fatalf("close: %v", err)
			}
			// Handles died with the FS: unlinked files are reclaimed by the reopen.
			r.snap = r.m.clone()
			r.m = r.snap.clone()
		}
		r.handles = nil
		for ino, n := range r.m {
			if n.nlink == 0 {
				delete(r.m, ino)
			}
		}
		r.snap = r.m.clone()
		r.f = openT(r.t, r.path, r.opts)
		r.compare()
		r.fsck()
	default:
		r.compare()
	}
}

func (r *modelRun) fsck() {
	rep, err := r.f.Fsck()
	if err != nil {
		r.fatalf("fsck: %v", err)
	}
	if !rep.OK() {
		r.fatalf("fsck: %v", rep)
	}
}

func (r *modelRun) checkFile(ino vfs.Ino, h vfs.File) {
	want := r.m[ino].data
	got := make([]byte, len(want)+100)
	n, e := h.ReadAt(got, 0)
	r.want(e, vfs.ESUCCESS, "read")
	if !bytes.Equal(got[:n], want) {
		r.fatalf("inode %d: content differs (%d bytes, want %d)", ino, n, len(want))
	}
}

// compare checks the whole FS against the model.
func (r *modelRun) compare() {
	r.t.Helper()
	seen := map[vfs.Ino]bool{}
	var walk func(d vfs.Ino)
	walk = func(d vfs.Ino) {
		h, e := r.f.Open(d, vfs.OpenRead)
		r.want(e, vfs.ESUCCESS, "open dir")
		got := map[string]vfs.Ino{}
		r.want(h.ReadDir(0, func(de *vfs.DirEntry) bool {
			got[string(de.Name)] = de.Ino
			return true
		}), vfs.ESUCCESS, "readdir")
		h.Close()
		if !maps.Equal(got, r.m[d].ents) {
			r.fatalf("directory %d: entries %v, want %v", d, got, r.m[d].ents)
		}
		for _, ino := range slices.Sorted(maps.Values(got)) {
			if seen[ino] {
				continue
			}
			seen[ino] = true
			mn := r.m[ino]
			st, e := r.f.Stat(ino)
			r.want(e, vfs.ESUCCESS, "stat")
			if st.Type != mn.typ || st.Nlink != mn.nlink {
				r.fatalf("inode %d: type %v nlink %d, want %v %d", ino, st.Type, st.Nlink, mn.typ, mn.nlink)
			}
			switch mn.typ {
			case vfs.TypeDir:
				walk(ino)
			case vfs.TypeSymlink:
				tg, e := r.f.Readlink(ino)
				r.want(e, vfs.ESUCCESS, "readlink")
				if tg != mn.target {
					r.fatalf("symlink %d: %q, want %q", ino, tg, mn.target)
				}
			case vfs.TypeRegular:
				if st.Size != int64(len(mn.data)) {
					r.fatalf("file %d: size %d, want %d", ino, st.Size, len(mn.data))
				}
				h, e := r.f.Open(ino, vfs.OpenRead)
				r.want(e, vfs.ESUCCESS, "open")
				r.checkFile(ino, h)
				h.Close()
			}
		}
	}
	st, e := r.f.Stat(rootIno)
	r.want(e, vfs.ESUCCESS, "stat root")
	if st.Nlink != r.m[rootIno].nlink {
		r.fatalf("root nlink %d, want %d", st.Nlink, r.m[rootIno].nlink)
	}
	walk(rootIno)
}

func runModel(t *testing.T, opts Options, canCrash bool, steps int) {
	seed := seedFor(t)
	r := &modelRun{
		t:        t,
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		path:     filepath.Join(t.TempDir(), "model.store"),
		opts:     opts,
		canCrash: canCrash,
	}
	r.f = openT(t, r.path, opts)
	r.m = model{rootIno: {typ: vfs.TypeDir, nlink: 2, ents: map[string]vfs.Ino{}, parent: rootIno}}
	r.snap = r.m.clone()
	defer func() {
		for _, h := range r.handles {
			h.h.Close()
		}
		closeChecked(t, r.f)
	}()
	for i := range steps {
		r.step()
		if os.Getenv("BBCHECK") != "" {
			bbCheck(t, r.f, fmt.Sprint("step ", i))
			if t.Failed() {
				for _, l := range r.log {
					t.Log(l)
				}
				t.FailNow()
			}
		}
	}
	r.compare()
	r.want(r.f.Commit(), vfs.ESUCCESS, "commit")
	r.fsck()
}

func TestModel(t *testing.T) {
	steps := 2000
	if testing.Short() || raceEnabled {
		steps = 600
	}
	for _, tc := range []struct {
		name     string
		opts     Options
		canCrash bool
	}{
		// Commits only when asked: crashes have a known outcome.
		{"crash", Options{PageSize: 4096, CommitInterval: -1, NoSync: true}, true},
		// Negative lookups dropped all the time, also while commits are in flight.
		{"crash-negatives", Options{PageSize: 4096, CommitInterval: -1, NoSync: true, maxNegatives: 2}, true},
		// A tiny cache and a short interval: evictions, commits from writers and from the
		// background, interleaved with everything else.
		{"tiny-cache", Options{PageSize: 4096, CacheBytes: 1, CommitInterval: 1, NoSync: true}, false},
		{"tiny-cache-16k", Options{PageSize: 16384, CacheBytes: 1, CommitInterval: 1, NoSync: true, maxNegatives: 3}, false},
		// Inodes and names evicted after almost every operation: with crashes, and with
		// commits in flight all the time.
		{"crash-evict", Options{PageSize: 4096, CommitInterval: -1, NoSync: true, maxMeta: 4}, true},
		{"tiny-cache-evict", Options{PageSize: 4096, CacheBytes: 1, CommitInterval: 1, NoSync: true, maxMeta: 4, maxNegatives: 2}, false},
	} {
		t.Run(tc.name, func(t *testing.T) { runModel(t, tc.opts, tc.canCrash, steps) })
	}
}
