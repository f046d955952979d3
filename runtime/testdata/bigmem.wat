;; bigmem declares a 32-page (2 MiB) minimum memory, to test Options.MemoryLimitPages.
(module
  (memory (export "memory") 32)
  (func (export "_start")))
