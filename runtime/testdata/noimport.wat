;; noimport imports a function wasmrun does not provide: instantiation fails.
(module
  (import "env" "nope" (func $nope))
  (memory (export "memory") 1)
  (func (export "_start") (call $nope)))
