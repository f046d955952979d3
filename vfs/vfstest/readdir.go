package vfstest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wasmrun/wasmrun/vfs"
)

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
