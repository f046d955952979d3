package main

import (
	"os"

	run "github.com/wasmrun/wasmrun/cmd/run"
)

func main() {
	os.Exit(run.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
