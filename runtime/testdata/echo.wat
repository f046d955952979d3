;; echo writes one line per argument, "arg: <value>", then one per environment variable,
;; "env: <KEY=value>", to stdout, and returns from _start (exit code 0).
;;
;; Memory: 0..16 scratch (counts, iovec, nwritten), 16..32 the prefixes, 1024.. argv pointers,
;; 4096.. environ pointers, 8192.. argv strings, 32768.. environ strings.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "arg: ")
  (data (i32.const 24) "env: ")
  (data (i32.const 30) "\n")

  ;; write writes len bytes at p to stdout, exiting with the errno on failure.
  (func $write (param $p i32) (param $len i32)
    (local $e i32)
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (local.get $len))
    (local.set $e (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (local.get $e) (then (call $proc_exit (local.get $e)))))

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  ;; lines prints count strings whose pointers are at ptrs, each after the 5-byte prefix.
  (func $lines (param $prefix i32) (param $ptrs i32) (param $count i32)
    (local $i i32) (local $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $s (i32.load (i32.add (local.get $ptrs) (i32.mul (local.get $i) (i32.const 4)))))
        (call $write (local.get $prefix) (i32.const 5))
        (call $write (local.get $s) (call $strlen (local.get $s)))
        (call $write (i32.const 30) (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  (func $check (param $e i32)
    (if (local.get $e) (then (call $proc_exit (local.get $e)))))

  (func (export "_start")
    (local $argc i32) (local $envc i32)
    (call $check (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (local.set $argc (i32.load (i32.const 0)))
    (call $check (call $args_get (i32.const 1024) (i32.const 8192)))
    (call $check (call $environ_sizes_get (i32.const 0) (i32.const 4)))
    (local.set $envc (i32.load (i32.const 0)))
    (call $check (call $environ_get (i32.const 4096) (i32.const 32768)))
    (call $lines (i32.const 16) (i32.const 1024) (local.get $argc))
    (call $lines (i32.const 24) (i32.const 4096) (local.get $envc))))
