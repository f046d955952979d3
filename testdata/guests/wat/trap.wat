;; trap writes "before trap\n" to stdout with fd_write, then executes `unreachable`: a runtime
;; must report the trap as an error (not as an exit code) and must still flush and commit
;; whatever the module did before it.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec at 0: buf=16, len=12; nwritten at 8; text at 16.
  (data (i32.const 0) "\10\00\00\00\0c\00\00\00")
  (data (i32.const 16) "before trap\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    unreachable))
