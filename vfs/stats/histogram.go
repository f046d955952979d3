package stats

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram records durations for latency percentiles: a log-linear histogram in nanoseconds
// with fixed buckets (one per value below 8 ns, then 8 per power of two, so each bucket is at
// most 12.5% wide; 2^44 ns, about 4.9 hours, and more share the last), plus the exact count,
// total and maximum. Record is a few atomic adds and allocates nothing. The zero Histogram is
// ready to use; it is safe for concurrent use and must not be copied after first use. It takes
// about 2.7 KB.
type Histogram struct {
	buckets [histBuckets]atomic.Int64
	count   atomic.Int64
	total   atomic.Int64
	max     atomic.Int64
}

const (
	histSubBits = 3
	histSub     = 1 << histSubBits
	histMaxExp  = 44
	histBuckets = (histMaxExp - histSubBits + 1) * histSub
)

// histIndex returns the bucket of v (>= 0).
func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - 1 // v is in [2^e, 2^(e+1))
	if e >= histMaxExp {
		return histBuckets - 1
	}
	sub := int(v>>(e-histSubBits)) & (histSub - 1)
	return (e-histSubBits+1)*histSub + sub
}

// histUpper returns the largest value of bucket i.
func histUpper(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := i/histSub + histSubBits - 1
	sub := uint64(i % histSub)
	return (histSub+sub+1)<<(e-histSubBits) - 1
}

// Record adds one duration; a negative one counts as 0.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.buckets[histIndex(uint64(v))].Add(1)
	h.count.Add(1)
	h.total.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Latency summarises what h recorded so far. Each percentile is the upper bound of the bucket
// holding it, capped at Max: never below the true value, and at most 12.5% above it (a
// percentile in the last bucket, past 2^44 ns, is Max).
func (h *Histogram) Latency() Latency {
	var counts [histBuckets]int64
	var n int64
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
		n += counts[i]
	}
	l := Latency{Count: n, Total: time.Duration(h.total.Load()), Max: time.Duration(h.max.Load())}
	if n == 0 {
		return l
	}
	quantile := func(q float64) time.Duration {
		// The rank of the smallest value with at least q of the values at or below it.
		rank := max(int64(math.Ceil(q*float64(n))), 1)
		var seen int64
		for i, c := range counts {
			seen += c
			if seen >= rank {
				if i == histBuckets-1 { // the last bucket has no upper bound
					return l.Max
				}
				return min(time.Duration(histUpper(i)), l.Max)
			}
		}
		return l.Max
	}
	l.P50, l.P90, l.P99 = quantile(0.50), quantile(0.90), quantile(0.99)
	return l
}
