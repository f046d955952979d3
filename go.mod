module github.com/wasmrun/wasmrun

go 1.26.8

require (
	github.com/tetratelabs/wazero v1.12.0
	github.com/tidwall/btree v1.8.2
	go.etcd.io/bbolt v1.5.0
	golang.org/x/sys v0.45.0
)
