package vfstest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

func (k *kit) testCreate(t *testing.T) {
	k.sub(t, "Types", func(t *testing.T, h *harness) {
		root := h.fs.Root()
		f := h.mkfile("/f")
		st := h.stat(f, "/f")
		if st.Type != vfs.TypeRegular || st.Size != 0 || st.Nlink != 1 {
			t.Errorf("Stat(/f) = type %s size %d nlink %d, want file 0 1", st.Type, st.Size, st.Nlink)
		}
		h.wantNlink("/", 2)
		d := h.mkdir("/d")
		st = h.stat(d, "/d")
		if st.Type != vfs.TypeDir || st.Nlink != 2 {
			t.Errorf("Stat(/d) = type %s nlink %d, want dir 2", st.Type, st.Nlink)
		}
		h.wantNlink("/", 3)
		if es := h.list(d, "/d"); len(es) != 0 {
			t.Errorf("ReadDir(/d) of a new directory = %v, want no entries", names(es))
		}
		if !k.opts.NoSymlinks {
			s := h.symlink("/s", "f")
			st = h.stat(s, "/s")
			if st.Type != vfs.TypeSymlink || st.Nlink != 1 {
				t.Errorf("Stat(/s) = type %s nlink %d, want symlink 1", st.Type, st.Nlink)
			}
			h.wantNlink("/", 3)
		}
		if got := h.ino("/f"); got != f || got == root {
			t.Errorf("Lookup(/f) = %d, want %d", got, f)
		}
	})
	k.sub(t, "Nested", func(t *testing.T, h *harness) {
		p := ""
		for i := range 20 {
			p += fmt.Sprintf("/d%d", i)
			h.mkdir(p)
		}
		h.writeFile(p+"/f", []byte("deep"))
		h.checkContent(h.ino(p+"/f"), p+"/f", []byte("deep"))
	})
	k.sub(t, "Exists", func(t *testing.T, h *harness) {
		types := []vfs.FileType{vfs.TypeRegular, vfs.TypeDir}
		if !k.opts.NoSymlinks {
			types = append(types, vfs.TypeSymlink)
		}
		for _, old := range types {
			p := "/" + old.String()
			ino, e := h.create(p, old, 0o755, "target")
			h.must(e, "Create(%s, %s)", p, old)
			for _, typ := range types {
				_, e := h.create(p, typ, 0o755, "other")
				h.want(e, vfs.EEXIST, "Create(%s, %s) over an existing %s", p, typ, old)
			}
			if got := h.ino(p); got != ino {
				t.Errorf("Lookup(%s) = %d after failed Creates, want %d", p, got, ino)
			}
			if st := h.stat(ino, p); st.Type != old {
				t.Errorf("Stat(%s).Type = %s after failed Creates, want %s", p, st.Type, old)
			}
		}
		h.wantNlink("/", 3)
	})
	k.sub(t, "BadType", func(t *testing.T, h *harness) {
		for _, typ := range []vfs.FileType{vfs.TypeUnknown, vfs.TypeBlockDevice, vfs.TypeCharDevice, vfs.TypeSocketDgram, vfs.TypeSocketStrm, 99} {
			_, e := h.fs.Create(h.fs.Root(), "x", typ, 0o644, "")
			h.want(e, vfs.EINVAL, "Create(/x, type %d)", typ)
			h.wantGone("/x")
		}
	})
}

func (k *kit) testRemove(t *testing.T) {
	k.sub(t, "Unlink", func(t *testing.T, h *harness) {
		ino := h.writeFile("/f", []byte("x"))
		h.must(h.remove("/f", false), "Remove(/f)")
		h.wantGone("/f")
		h.wantInoGone(ino, "/f")
		h.wantNlink("/", 2)
		h.want(h.remove("/f", false), vfs.ENOENT, "Remove(/f) again")
	})
	k.sub(t, "Rmdir", func(t *testing.T, h *harness) {
		ino := h.mkdir("/d")
		h.wantNlink("/", 3)
		h.must(h.remove("/d", true), "Remove(/d, dirOnly)")
		h.wantGone("/d")
		h.wantInoGone(ino, "/d")
		h.wantNlink("/", 2)
		h.want(h.remove("/d", true), vfs.ENOENT, "Remove(/d, dirOnly) again")
	})
	k.sub(t, "UnlinkDir", func(t *testing.T, h *harness) {
		ino := h.mkdir("/d")
		h.want(h.remove("/d", false), vfs.EISDIR, "Remove(/d) (unlink of a directory)")
		if got := h.ino("/d"); got != ino {
			t.Errorf("Lookup(/d) = %d after failed unlink, want %d", got, ino)
		}
		h.wantNlink("/", 3)
	})
	k.sub(t, "RmdirNonDir", func(t *testing.T, h *harness) {
		h.mkfile("/f")
		h.want(h.remove("/f", true), vfs.ENOTDIR, "Remove(/f, dirOnly)")
		h.ino("/f")
		if !k.opts.NoSymlinks {
			h.mkdir("/d")
			h.symlink("/s", "d")
			h.want(h.remove("/s", true), vfs.ENOTDIR, "Remove(/s -> d, dirOnly)")
			h.ino("/s")
		}
	})
	k.sub(t, "NotEmpty", func(t *testing.T, h *harness) {
		children := map[string]func(p string){
			"file":   func(p string) { h.mkfile(p) },
			"dir":    func(p string) { h.mkdir(p) },
			"hidden": func(p string) { h.mkfile(p[:strings.LastIndexByte(p, '/')+1] + ".h") },
		}
		if !k.opts.NoSymlinks {
			children["symlink"] = func(p string) { h.symlink(p, "nowhere") }
		}
		for what, mk := range children {
			d := "/" + what
			h.mkdir(d)
			mk(d + "/c")
			h.want(h.remove(d, true), vfs.ENOTEMPTY, "Remove(%s, dirOnly) holding a %s", d, what)
			h.ino(d)
		}
	})
	k.sub(t, "Emptied", func(t *testing.T, h *harness) {
		h.mkdir("/d")
		for i := range 50 {
			h.mkfile(fmt.Sprintf("/d/f%d", i))
		}
		h.mkdir("/d/sub")
		for i := range 50 {
			h.must(h.remove(fmt.Sprintf("/d/f%d", i), false), "Remove(/d/f%d)", i)
		}
		h.want(h.remove("/d", true), vfs.ENOTEMPTY, "Remove(/d, dirOnly) holding /d/sub")
		h.must(h.remove("/d/sub", true), "Remove(/d/sub, dirOnly)")
		h.must(h.remove("/d", true), "Remove(/d, dirOnly) once emptied")
		h.wantNlink("/", 2)
	})
	k.sub(t, "Missing", func(t *testing.T, h *harness) {
		h.want(h.remove("/nope", false), vfs.ENOENT, "Remove(/nope)")
		h.want(h.remove("/nope", true), vfs.ENOENT, "Remove(/nope, dirOnly)")
	})
	k.sub(t, "Symlink", func(t *testing.T, h *harness) {
		if k.opts.NoSymlinks {
			return
		}
		f := h.writeFile("/f", []byte("x"))
		h.symlink("/s", "f")
		h.must(h.remove("/s", false), "Remove(/s)")
		h.wantGone("/s")
		h.checkContent(f, "/f", []byte("x"))
		h.mkdir("/d")
		h.symlink("/sd", "d")
		h.must(h.remove("/sd", false), "Remove(/sd -> d)")
		h.ino("/d")
	})
}

func (k *kit) testNlink(t *testing.T) {
	k.sub(t, "Dirs", func(t *testing.T, h *harness) {
		h.mkdir("/a")
		h.wantNlink("/", 3)
		h.mkdir("/a/b")
		h.mkdir("/a/c")
		h.wantNlink("/a", 4)
		h.mkfile("/a/f")
		if !k.opts.NoSymlinks {
			h.symlink("/a/s", "b")
		}
		h.wantNlink("/a", 4) // files and symlinks do not count
		h.wantNlink("/a/b", 2)
		h.mkdir("/a/b/x")
		h.wantNlink("/a/b", 3)
		h.wantNlink("/a", 4)
		h.must(h.remove("/a/c", true), "Remove(/a/c, dirOnly)")
		h.wantNlink("/a", 3)
		h.wantNlink("/", 3)
	})
	k.sub(t, "Files", func(t *testing.T, h *harness) {
		h.mkfile("/f")
		h.wantNlink("/f", 1)
		if k.opts.NoHardLinks {
			return
		}
		h.mkdir("/d")
		h.must(h.link("/f", "/g"), "Link(/f, /g)")
		h.must(h.link("/f", "/d/h"), "Link(/f, /d/h)")
		h.wantNlink("/f", 3)
		h.wantNlink("/d/h", 3)
		h.wantNlink("/d", 2) // a link to a file is not a subdirectory
		h.must(h.remove("/g", false), "Remove(/g)")
		h.wantNlink("/f", 2)
	})
}

func (k *kit) testReadDir(t *testing.T) {
	k.sub(t, "Complete", func(t *testing.T, h *harness) {
		want := map[string]vfs.FileType{}
		add := func(name string, typ vfs.FileType) {
			if typ == vfs.TypeSymlink && k.opts.NoSymlinks {
				typ = vfs.TypeRegular
			}
			_, e := h.fs.Create(h.fs.Root(), name, typ, 0o755, "t")
			h.must(e, "Create(/%q, %s)", name, typ)
			want[name] = typ
		}
		for i := range 1000 {
			add(fmt.Sprintf("f%04d", i), []vfs.FileType{vfs.TypeRegular, vfs.TypeDir, vfs.TypeSymlink}[i%3])
		}
		for _, name := range []string{strings.Repeat("n", vfs.NameMax), "with space", "ünïcödé", `back\slash`,
			"-dash", ".hidden", "...", "..x", "\x01ctl", "\xff\xfe", "a\nb"} {
			add(name, vfs.TypeRegular)
		}
		es := h.list(h.fs.Root(), "/")
		got := map[string]bool{}
		for _, e := range es {
			got[e.Name] = true
			typ, ok := want[e.Name]
			if !ok {
				t.Errorf("ReadDir(/) reports %q, which was never created", e.Name)
				continue
			}
			if e.Type != typ {
				t.Errorf("ReadDir(/) reports %q as %s, want %s", e.Name, e.Type, typ)
			}
			ino, _, err := h.fs.Lookup(h.fs.Root(), e.Name)
			h.must(err, "Lookup(/%q)", e.Name)
			if e.Ino != ino {
				t.Errorf("ReadDir(/) reports %q with Ino %d, but Lookup gives %d", e.Name, e.Ino, ino)
			}
			if st := h.stat(ino, "/"+e.Name); st.Type != e.Type {
				t.Errorf("ReadDir(/) reports %q as %s, but Stat gives %s", e.Name, e.Type, st.Type)
			}
		}
		for name := range want {
			if !got[name] {
				t.Errorf("ReadDir(/) misses %q", name)
			}
		}
	})
	k.sub(t, "StopAndResume", func(t *testing.T, h *harness) {
		// fn returning false stops the listing, and its entry's cookie resumes after it.
		const n = 150
		for i := range n {
			h.mkfile(fmt.Sprintf("/f%03d", i))
		}
		all := names(h.list(h.fs.Root(), "/"))
		for _, chunk := range []int{1, 7, 100, n} {
			f := h.openPath("/", vfs.OpenRead)
			var got []string
			var cookie uint64
			for round := 0; ; round++ {
				calls := 0
				e := f.ReadDir(cookie, func(d *vfs.DirEntry) bool {
					calls++
					if calls > chunk {
						t.Fatalf("ReadDir(/) called fn again after it returned false")
					}
					got = append(got, string(d.Name))
					cookie = d.Next
					return calls < chunk
				})
				h.must(e, "ReadDir(/, cookie=%d)", cookie)
				if calls == 0 {
					break
				}
				if round > n+1 {
					t.Fatalf("ReadDir(/) in chunks of %d does not end", chunk)
				}
			}
			h.close(f, "/")
			slices.Sort(got)
			if !slices.Equal(got, all) {
				t.Errorf("ReadDir(/) in chunks of %d: %d names, want the %d of a full listing (%s)", chunk, len(got), len(all), setDiff(got, all))
			}
		}
	})
	k.sub(t, "SameCookieTwice", func(t *testing.T, h *harness) {
		// A cookie is not consumed: resuming from it twice gives the same entries.
		for i := range 50 {
			h.mkfile(fmt.Sprintf("/f%02d", i))
		}
		f := h.openPath("/", vfs.OpenRead)
		defer h.close(f, "/")
		es := h.listFile(f, "/", 0)
		if len(es) != 50 {
			t.Fatalf("ReadDir(/) = %d entries, want 50", len(es))
		}
		mid := es[20].Next
		a := names(h.listFile(f, "/", mid))
		b := names(h.listFile(f, "/", mid))
		if !slices.Equal(a, b) || len(a) != 29 {
			t.Errorf("ReadDir(/, cookie of the 21st entry) gave %d then %d entries, want 29 both times", len(a), len(b))
		}
	})
	k.sub(t, "CookiesUnderChange", func(t *testing.T, h *harness) {
		// List half, remove some entries not yet listed and some already listed, add new
		// ones, resume from the cookie: every untouched entry is reported exactly once
		// across both halves, and no name twice.
		const n = 200
		for i := range n {
			h.mkfile(fmt.Sprintf("/e%03d", i))
		}
		f := h.openPath("/", vfs.OpenRead)
		defer h.close(f, "/")
		var first []string
		var cookie uint64
		h.must(f.ReadDir(0, func(d *vfs.DirEntry) bool {
			first = append(first, string(d.Name))
			cookie = d.Next
			return len(first) < n/2
		}), "ReadDir(/, cookie=0)")
		if len(first) != n/2 {
			t.Fatalf("ReadDir(/) stopped after %d entries, want %d", len(first), n/2)
		}
		listed := map[string]bool{}
		for _, s := range first {
			listed[s] = true
		}
		removed := map[string]bool{}
		var r1, r2 int
		for i := range n {
			name := fmt.Sprintf("e%03d", i)
			if listed[name] && r1 < 20 && i%3 == 0 || !listed[name] && r2 < 20 && i%2 == 0 {
				h.must(h.remove("/"+name, false), "Remove(/%s)", name)
				removed[name] = true
				if listed[name] {
					r1++
				} else {
					r2++
				}
			}
		}
		for i := range 50 {
			h.mkfile(fmt.Sprintf("/n%03d", i))
		}
		second := h.listFile(f, "/", cookie)
		count := map[string]int{}
		for _, s := range first {
			count[s]++
		}
		for _, e := range second {
			count[e.Name]++
			if !removed[e.Name] {
				ino, _, err := h.fs.Lookup(h.fs.Root(), e.Name)
				if err != vfs.ESUCCESS || ino != e.Ino {
					t.Errorf("resumed ReadDir(/) reports %q with Ino %d, but Lookup gives (%d, %s)", e.Name, e.Ino, ino, err.Name())
				}
			}
		}
		for i := range n {
			name := fmt.Sprintf("e%03d", i)
			if !removed[name] && count[name] != 1 {
				t.Errorf("untouched entry %q reported %d times across the two halves, want once", name, count[name])
			}
		}
		for name, c := range count {
			if c > 1 {
				t.Errorf("%q reported %d times across the two halves", name, c)
			}
		}
	})
	k.sub(t, "Churn", func(t *testing.T, h *harness) {
		// List ten at a time; between chunks remove and add entries. Every entry that is
		// never removed is reported exactly once.
		r := rand.New(rand.NewPCG(seed(t), 3))
		live := map[string]bool{}
		var pool []string
		for i := range 300 {
			name := fmt.Sprintf("o%03d", i)
			h.mkfile("/" + name)
			live[name] = true
			pool = append(pool, name)
		}
		original := slices.Clone(pool)
		touched := map[string]bool{}
		count := map[string]int{}
		f := h.openPath("/", vfs.OpenRead)
		defer h.close(f, "/")
		var cookie uint64
		added := 0
		for round := 0; ; round++ {
			got := 0
			h.must(f.ReadDir(cookie, func(d *vfs.DirEntry) bool {
				count[string(d.Name)]++
				cookie = d.Next
				got++
				return got < 10
			}), "ReadDir(/, cookie=%d)", cookie)
			if got == 0 {
				break
			}
			if round > 1000 {
				total := 0
				for _, c := range count {
					total += c
				}
				t.Fatalf("ReadDir(/) under churn does not end: %d rounds of 10 reported %d entries, %d distinct names, for %d created", round, total, len(count), 300+added)
			}
			for range 3 {
				if len(pool) > 0 {
					i := r.IntN(len(pool))
					name := pool[i]
					pool = slices.Delete(pool, i, i+1)
					h.must(h.remove("/"+name, false), "Remove(/%s)", name)
					touched[name] = true
				}
				if round < 40 { // a backend may report new entries: stop adding so the listing ends
					name := fmt.Sprintf("a%04d", added)
					added++
					h.mkfile("/" + name)
					touched[name] = true
				}
			}
		}
		for _, name := range original {
			if !touched[name] && count[name] != 1 {
				t.Errorf("untouched entry %q reported %d times, want once", name, count[name])
			}
		}
		for name, c := range count {
			if c > 1 {
				t.Errorf("%q reported %d times", name, c)
			}
		}
	})
	k.sub(t, "ResumeAfterRemoved", func(t *testing.T, h *harness) {
		// The cookie of an entry since removed still resumes just after it, even when the
		// entry after it is gone too.
		for i := range 40 {
			h.mkfile(fmt.Sprintf("/f%02d", i))
		}
		f := h.openPath("/", vfs.OpenRead)
		defer h.close(f, "/")
		es := h.listFile(f, "/", 0)
		if len(es) != 40 {
			t.Fatalf("ReadDir(/) = %d entries, want 40", len(es))
		}
		x, y := es[10], es[11]
		h.must(h.remove("/"+x.Name, false), "Remove(/%s)", x.Name)
		after := names(h.listFile(f, "/", x.Next))
		if want := names(es[11:]); !slices.Equal(after, want) {
			t.Errorf("ReadDir(/, cookie of removed %q) = %d names, want the %d after it (%s)", x.Name, len(after), len(want), setDiff(after, want))
		}
		h.must(h.remove("/"+y.Name, false), "Remove(/%s)", y.Name)
		after = names(h.listFile(f, "/", x.Next))
		if want := names(es[12:]); !slices.Equal(after, want) {
			t.Errorf("ReadDir(/, cookie of removed %q, next %q removed too) = %d names, want the %d after them (%s)", x.Name, y.Name, len(after), len(want), setDiff(after, want))
		}
	})
}

func (k *kit) testIno(t *testing.T) {
	k.sub(t, "NotReused", func(t *testing.T, h *harness) {
		// Create and delete 1000 inodes of every type (and replace some by rename): no Ino is
		// ever seen twice, and none is the root's or 0.
		seen := map[vfs.Ino]string{h.fs.Root(): "/"}
		note := func(ino vfs.Ino, what string) {
			t.Helper()
			if ino == 0 {
				t.Fatalf("%s has Ino 0", what)
			}
			if prev, ok := seen[ino]; ok && !k.opts.NoStableIno {
				t.Fatalf("%s has Ino %d, already used by %s (inode numbers must never be reused)", what, ino, prev)
			}
			seen[ino] = what
		}
		h.mkdir("/d")
		for i := range 1000 {
			what := fmt.Sprintf("inode %d", i)
			switch i % 10 {
			case 0:
				note(h.mkdir("/d/x"), what+" (dir)")
				h.must(h.remove("/d/x", true), "Remove(/d/x, dirOnly)")
			case 1:
				if !k.opts.NoSymlinks {
					note(h.symlink("/d/x", "t"), what+" (symlink)")
					h.must(h.remove("/d/x", false), "Remove(/d/x)")
				}
			case 2:
				note(h.writeFile("/d/x", []byte("x")), what+" (file)")
				note(h.mkfile("/d/y"), what+" (file)")
				h.must(h.rename("/d/y", "/d/x"), "Rename(/d/y, /d/x)")
				h.must(h.remove("/d/x", false), "Remove(/d/x)")
			default:
				note(h.mkfile("/d/x"), what+" (file)")
				h.must(h.remove("/d/x", false), "Remove(/d/x)")
			}
		}
	})
	k.sub(t, "Distinct", func(t *testing.T, h *harness) {
		seen := map[vfs.Ino]string{h.fs.Root(): "/"}
		for i := range 200 {
			p := fmt.Sprintf("/f%d", i)
			var ino vfs.Ino
			if i%4 == 0 {
				ino = h.mkdir(p)
			} else {
				ino = h.mkfile(p)
			}
			if prev, ok := seen[ino]; ok {
				t.Fatalf("%s has Ino %d, the Ino of live %s", p, ino, prev)
			}
			seen[ino] = p
		}
	})
	k.sub(t, "StableAcrossRename", func(t *testing.T, h *harness) {
		f := h.mkfile("/f")
		d := h.mkdir("/d")
		h.mkdir("/e")
		h.must(h.rename("/f", "/e/g"), "Rename(/f, /e/g)")
		h.must(h.rename("/d", "/e/d2"), "Rename(/d, /e/d2)")
		if got := h.ino("/e/g"); got != f {
			t.Errorf("Lookup(/e/g) = %d after rename from /f, want %d", got, f)
		}
		if got := h.ino("/e/d2"); got != d {
			t.Errorf("Lookup(/e/d2) = %d after rename from /d, want %d", got, d)
		}
	})
}

func (k *kit) testRemovedDir(t *testing.T) {
	k.sub(t, "UsedAsDir", func(t *testing.T, h *harness) {
		// A removed directory's Ino is ENOENT everywhere a directory is expected.
		d := h.mkdir("/d")
		f := h.mkfile("/f")
		h.must(h.remove("/d", true), "Remove(/d, dirOnly)")
		root := h.fs.Root()
		_, _, e := h.fs.Lookup(d, "x")
		h.want(e, vfs.ENOENT, "Lookup(removed /d, x)")
		_, e = h.fs.Create(d, "x", vfs.TypeRegular, 0o644, "")
		h.want(e, vfs.ENOENT, "Create(removed /d, x, file)")
		_, e = h.fs.Create(d, "x", vfs.TypeDir, 0o755, "")
		h.want(e, vfs.ENOENT, "Create(removed /d, x, dir)")
		h.want(h.fs.Remove(d, "x", false), vfs.ENOENT, "Remove(removed /d, x)")
		h.want(h.fs.Rename(d, "x", root, "y"), vfs.ENOENT, "Rename(removed /d/x, /y)")
		h.want(h.fs.Rename(root, "f", d, "y"), vfs.ENOENT, "Rename(/f, removed /d/y)")
		h.ino("/f")
		if !k.opts.NoHardLinks {
			h.want(h.fs.Link(f, d, "y"), vfs.ENOENT, "Link(/f, removed /d/y)")
			h.wantNlink("/f", 1)
		}
		_, e = h.fs.Stat(d)
		h.want(e, vfs.ENOENT, "Stat(removed /d)")
		h.want(h.fs.SetAttr(d, &vfs.Attr{Valid: vfs.AttrMode, Mode: 0o700}), vfs.ENOENT, "SetAttr(removed /d)")
		_, e = h.fs.Open(d, vfs.OpenRead)
		h.want(e, vfs.ENOENT, "Open(removed /d)")
	})
	k.sub(t, "OpenWhileRemoved", func(t *testing.T, h *harness) {
		// rmdir of an open directory: the handle lists nothing, nothing can be created in it,
		// Stat works until the last Close, and after it the Ino is gone.
		d := h.mkdir("/d")
		f := h.open(d, "/d", vfs.OpenRead)
		h.must(h.remove("/d", true), "Remove(/d, dirOnly)")
		if es := h.listFile(f, "/d", 0); len(es) != 0 {
			t.Errorf("ReadDir(removed open /d) = %v, want no entries", names(es))
		}
		_, e := h.fs.Create(d, "x", vfs.TypeRegular, 0o644, "")
		h.want(e, vfs.ENOENT, "Create(removed open /d, x)")
		_, _, e = h.fs.Lookup(d, "x")
		h.want(e, vfs.ENOENT, "Lookup(removed open /d, x)")
		_, e = h.fs.Stat(d)
		h.want(e, vfs.ESUCCESS, "Stat(removed /d, still open)")
		h.close(f, "/d")
		h.wantInoGone(d, "removed /d after its last Close")
		h.wantNlink("/", 2)
	})
}

func (k *kit) testNotDir(t *testing.T) {
	// Every method that takes a directory Ino answers ENOTDIR for a file or a symlink.
	kinds := []struct {
		name string
		mk   func(h *harness) vfs.Ino
	}{
		{"File", func(h *harness) vfs.Ino { return h.mkfile("/nd") }},
	}
	if !k.opts.NoSymlinks {
		kinds = append(kinds, struct {
			name string
			mk   func(h *harness) vfs.Ino
		}{"Symlink", func(h *harness) vfs.Ino { h.mkdir("/d"); return h.symlink("/nd", "d") }})
	}
	for _, kind := range kinds {
		k.sub(t, kind.name, func(t *testing.T, h *harness) {
			nd := kind.mk(h)
			f := h.mkfile("/f")
			root := h.fs.Root()
			_, _, e := h.fs.Lookup(nd, "x")
			h.want(e, vfs.ENOTDIR, "Lookup(/nd, x)")
			_, e = h.fs.Create(nd, "x", vfs.TypeRegular, 0o644, "")
			h.want(e, vfs.ENOTDIR, "Create(/nd, x)")
			h.want(h.fs.Remove(nd, "x", false), vfs.ENOTDIR, "Remove(/nd, x)")
			h.want(h.fs.Remove(nd, "x", true), vfs.ENOTDIR, "Remove(/nd, x, dirOnly)")
			h.want(h.fs.Rename(nd, "x", root, "y"), vfs.ENOTDIR, "Rename(/nd/x, /y)")
			h.want(h.fs.Rename(root, "f", nd, "y"), vfs.ENOTDIR, "Rename(/f, /nd/y)")
			h.ino("/f")
			if !k.opts.NoHardLinks {
				h.want(h.fs.Link(f, nd, "y"), vfs.ENOTDIR, "Link(/f, /nd/y)")
			}
			fl, e := h.fs.Open(nd, vfs.OpenRead)
			if kind.name == "File" && e == vfs.ESUCCESS {
				h.want(fl.ReadDir(0, func(*vfs.DirEntry) bool { return true }), vfs.ENOTDIR, "ReadDir(/nd)")
				h.close(fl, "/nd")
			} else if e == vfs.ESUCCESS {
				fl.Close()
			}
		})
	}
}

// setDiff describes how got differs from want (both sorted).
func setDiff(got, want []string) string {
	g, w := map[string]int{}, map[string]int{}
	for _, s := range got {
		g[s]++
	}
	for _, s := range want {
		w[s]++
	}
	var missing, extra []string
	for s, c := range w {
		if g[s] < c {
			missing = append(missing, s)
		}
	}
	for s, c := range g {
		if w[s] < c {
			extra = append(extra, s)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return fmt.Sprintf("missing %s; extra or repeated %s", clip(missing), clip(extra))
}

func clip(s []string) string {
	if len(s) > 10 {
		return fmt.Sprintf("%q and %d more", s[:10], len(s)-10)
	}
	return fmt.Sprintf("%q", s)
}
