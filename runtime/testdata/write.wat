;; write creates (or truncates) the file named by argv[1], a path relative to the preopened "/"
;; (fd 3), writes argv[2] into it and ends without fd_sync and without fd_close: committing the
;; data and closing the fd is the runtime's job. It ends as argv[3] says: "exit" calls
;; proc_exit(7), "trap" executes unreachable, "loop" writes "looping\n" to stdout and spins
;; until the runtime stops it, and anything else (or nothing) returns from _start. On a failing
;; call it exits with the WASI errno.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
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

  ;; streq reports whether the NUL-terminated strings at a and b are equal.
  (func $streq (param $a i32) (param $b i32) (result i32)
    (local $c i32)
    (loop $next
      (local.set $c (i32.load8_u (local.get $a)))
      (if (i32.ne (local.get $c) (i32.load8_u (local.get $b)))
        (then (return (i32.const 0))))
      (if (i32.eqz (local.get $c))
        (then (return (i32.const 1))))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $next))
    (i32.const 0))

  (data (i32.const 64) "exit\00")
  (data (i32.const 72) "trap\00")
  (data (i32.const 80) "loop\00")
  (data (i32.const 88) "looping\n")

  (func (export "_start")
    (local $path i32) (local $data i32) (local $mode i32)
    (call $check (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 3))
      (then (call $proc_exit (i32.const 28)))) ;; EINVAL: usage is write PATH DATA
    (call $check (call $args_get (i32.const 1024) (i32.const 8192)))
    (local.set $path (i32.load (i32.const 1028)))
    (local.set $data (i32.load (i32.const 1032)))
    ;; lookupflags SYMLINK_FOLLOW, oflags CREAT|TRUNC, all rights, no fdflags, fd at 12.
    (call $check (call $path_open (i32.const 3) (i32.const 1)
      (local.get $path) (call $strlen (local.get $path))
      (i32.const 9) (i64.const 0x3fffffff) (i64.const 0x3fffffff) (i32.const 0) (i32.const 12)))
    ;; Write until everything is written: a short write is retried, as in C's fwrite.
    (i32.store (i32.const 16) (local.get $data))
    (i32.store (i32.const 20) (call $strlen (local.get $data)))
    (block $written
      (loop $more
        (br_if $written (i32.eqz (i32.load (i32.const 20))))
        (call $check (call $fd_write (i32.load (i32.const 12)) (i32.const 16) (i32.const 1) (i32.const 24)))
        (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.load (i32.const 24))))
        (i32.store (i32.const 20) (i32.sub (i32.load (i32.const 20)) (i32.load (i32.const 24))))
        (br $more)))
    (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 4))
      (then (return)))
    (local.set $mode (i32.load (i32.const 1036)))
    (if (call $streq (local.get $mode) (i32.const 64))
      (then (call $proc_exit (i32.const 7))))
    (if (call $streq (local.get $mode) (i32.const 72))
      (then unreachable))
    (if (call $streq (local.get $mode) (i32.const 80))
      (then
        (i32.store (i32.const 16) (i32.const 88))
        (i32.store (i32.const 20) (i32.const 8))
        (call $check (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
        (loop $forever (br $forever))))))
