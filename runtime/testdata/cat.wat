;; cat copies the file named by argv[1] (a path relative to the preopened "/", fd 3) to stdout,
;; or stdin when there is no argv[1]. On a failing call it exits with the WASI errno.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  (func $check (param $e i32)
    (if (local.get $e) (then (call $proc_exit (local.get $e)))))

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  (func (export "_start")
    (local $fd i32) (local $path i32) (local $n i32)
    (call $check (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (call $check (call $args_get (i32.const 1024) (i32.const 8192)))
    (if (i32.ge_u (i32.load (i32.const 0)) (i32.const 2))
      (then
        (local.set $path (i32.load (i32.const 1028)))
        ;; lookupflags SYMLINK_FOLLOW, no oflags, all rights, no fdflags, fd at 12.
        (call $check (call $path_open (i32.const 3) (i32.const 1)
          (local.get $path) (call $strlen (local.get $path))
          (i32.const 0) (i64.const 0x3fffffff) (i64.const 0x3fffffff) (i32.const 0) (i32.const 12)))
        (local.set $fd (i32.load (i32.const 12)))))
    (block $eof
      (loop $next
        (i32.store (i32.const 16) (i32.const 32768))
        (i32.store (i32.const 20) (i32.const 32768))
        (call $check (call $fd_read (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 24)))
        (local.set $n (i32.load (i32.const 24)))
        (br_if $eof (i32.eqz (local.get $n)))
        (i32.store (i32.const 20) (local.get $n))
        (call $check (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
        (br $next)))))
