package run

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "0", want: 0},
		{in: "4096", want: 4096},
		{in: "64K", want: 64 << 10},
		{in: "64k", want: 64 << 10},
		{in: "64KiB", want: 64 << 10},
		{in: "64M", want: 64 << 20},
		{in: "64MB", want: 64 << 20},
		{in: "1G", want: 1 << 30},
		{in: "1.5G", want: 3 << 29},
		{in: "2T", want: 2 << 40},
		{in: " 8M ", want: 8 << 20},
		{in: "", wantErr: true},
		{in: "M", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "12Q", wantErr: true},
		{in: "1.2.3M", wantErr: true},
		{in: "99999999T", wantErr: true},
	}
	for _, tc := range tests {
		got, err := parseSize(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	for _, n := range []int64{0, 1, 1023, 1024, 64 << 10, 3 << 29, 1 << 30, 5 << 40} {
		if got, err := parseSize(formatSize(n)); err != nil || got != n {
			t.Errorf("parseSize(formatSize(%d) = %q) = %d, %v", n, formatSize(n), got, err)
		}
	}
}

func TestParseDir(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in      string
		want    mountSpec
		wantErr bool
	}{
		{in: "data:/data", want: mountSpec{guest: "/data", kind: "host", arg: "data"}},
		{in: "/srv/x:/x/", want: mountSpec{guest: "/x", kind: "host", arg: "/srv/x"}},
		{in: "data::/data", want: mountSpec{guest: "/data", kind: "host", arg: "data"}},
		{in: "data:/data:ro", want: mountSpec{guest: "/data", kind: "host", arg: "data", ro: true}},
		{in: "a:b:/data", want: mountSpec{guest: "/data", kind: "host", arg: "a:b"}},
		{in: "/srv/x", want: mountSpec{guest: "/srv/x", kind: "host", arg: "/srv/x"}},
		{in: "/srv/x:ro", want: mountSpec{guest: "/srv/x", kind: "host", arg: "/srv/x", ro: true}},
		{in: "rel", want: mountSpec{guest: filepath.ToSlash(filepath.Join(cwd, "rel")), kind: "host", arg: "rel"}},
		{in: "data::rel", wantErr: true},
		{in: ":/data", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tc := range tests {
		got, err := parseDir(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseDir(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseMount(t *testing.T) {
	tests := []struct {
		in      string
		want    mountSpec
		wantErr bool
	}{
		{in: "/scratch=heap", want: mountSpec{guest: "/scratch", kind: "heap"}},
		{in: "/scratch=heap:64M", want: mountSpec{guest: "/scratch", kind: "heap", arg: "64M"}},
		{in: "/scratch/=heap:ro", want: mountSpec{guest: "/scratch", kind: "heap", ro: true}},
		{in: "/db=stable:db.store", want: mountSpec{guest: "/db", kind: "stable", arg: "db.store"}},
		{in: "/db=stable:a:b.store:ro", want: mountSpec{guest: "/db", kind: "stable", arg: "a:b.store", ro: true}},
		{in: "/src=host:./src:ro", want: mountSpec{guest: "/src", kind: "host", arg: "./src", ro: true}},
		{in: "/=heap", want: mountSpec{guest: "/", kind: "heap"}},
		{in: "/scratch", wantErr: true},
		{in: "scratch=heap", wantErr: true},
		{in: "/x=floppy", wantErr: true},
		{in: "/x=heap:lots", wantErr: true},
		{in: "/x=stable", wantErr: true},
		{in: "/x=host:", wantErr: true},
	}
	for _, tc := range tests {
		got, err := parseMount(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseMount(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseEnv(t *testing.T) {
	t.Setenv("WASMRUN_TEST_HOST_VAR", "from host")
	os.Unsetenv("WASMRUN_TEST_UNSET")
	got, err := parseEnv([]string{"A=1", "B=", "C=x=y", "WASMRUN_TEST_HOST_VAR", "WASMRUN_TEST_UNSET"})
	want := []string{"A=1", "B=", "C=x=y", "WASMRUN_TEST_HOST_VAR=from host"}
	if err != nil || len(got) != len(want) {
		t.Fatalf("parseEnv = %q, %v; want %q", got, err, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("parseEnv[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	if _, err := parseEnv([]string{"=x"}); err == nil {
		t.Error(`parseEnv("=x") succeeded`)
	}
}
