package heap

import "runtime"

// heapInUse returns the live heap bytes after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func runtimeKeepAlive(x any) { runtime.KeepAlive(x) }
