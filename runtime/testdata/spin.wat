;; spin computes for a while without calling the host, then returns: a loop of 100 million
;; iterations, each calling a function, so that it passes the checks wazero compiles into loop
;; heads and function entries when Options.Interruptible is set. A deadline stops it only then.
(module
  (memory (export "memory") 1)
  (func $step (param $n i32) (result i32)
    (i32.sub (local.get $n) (i32.const 1)))
  (func (export "_start")
    (local $n i32)
    (local.set $n (i32.const 100000000))
    (loop $more
      (local.set $n (call $step (local.get $n)))
      (br_if $more (local.get $n)))))
