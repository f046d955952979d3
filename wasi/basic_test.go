package wasi

import "testing"

func TestProxySmoke(t *testing.T) {
	e := newEnv(t)
	e.want(errSuccess, "args_sizes_get", 0, 4)
	if e.u32(0) != 2 || e.u32(4) != uint32(len("prog\x00a1\x00")) {
		t.Fatalf("argc=%d size=%d", e.u32(0), e.u32(4))
	}
	t.Log(e.transcript())
}
