package stats

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Format writes s as a compact block of text headed by mountPath, the way the CLI's --stats
// prints each mount at exit:
//
//	/data
//	  ops      lookup 120 (20 failed), stat 340, create 12, open 50, close 50, read 200, write 400, sync 3, commit 1
//	  bytes    read 1.20 MiB, written 3.40 MiB
//	  sync     3, p50 1.20ms, p90 2.00ms, p99 2.00ms, max 2.10ms
//	  commit   1, p50 4.50ms, p90 4.50ms, p99 4.50ms, max 4.50ms
//	  backend  cache_hits 1234, cache_misses 56, peak_dirty_bytes 4.00 MiB
//
// Operations never called are left out, as are the sync, commit and backend lines when they
// have nothing to show. The error is w's.
func (s Snapshot) Format(w io.Writer, mountPath string) error {
	var b strings.Builder
	b.WriteString(mountPath)
	b.WriteString("\n  ops      ")
	some := false
	for i, o := range s.Ops {
		if o.Count == 0 {
			continue
		}
		if some {
			b.WriteString(", ")
		}
		some = true
		fmt.Fprintf(&b, "%s %d", Op(i), o.Count)
		if o.Errors > 0 {
			fmt.Fprintf(&b, " (%d failed)", o.Errors)
		}
	}
	if !some {
		b.WriteString("none")
	}
	fmt.Fprintf(&b, "\n  bytes    read %s, written %s\n", fmtBytes(s.BytesRead), fmtBytes(s.BytesWritten))
	for _, l := range []struct {
		name string
		lat  Latency
	}{{"sync", s.Sync}, {"commit", s.Commit}} {
		if l.lat.Count == 0 {
			continue
		}
		fmt.Fprintf(&b, "  %-8s %d, p50 %s, p90 %s, p99 %s, max %s\n", l.name, l.lat.Count,
			fmtDuration(l.lat.P50), fmtDuration(l.lat.P90), fmtDuration(l.lat.P99), fmtDuration(l.lat.Max))
	}
	if len(s.Backend) > 0 {
		keys := make([]string, 0, len(s.Backend))
		for k := range s.Backend {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("  backend  ")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			v := s.Backend[k]
			switch {
			case strings.HasSuffix(k, "_bytes"):
				fmt.Fprintf(&b, "%s %s", k, fmtBytes(v))
			case strings.HasSuffix(k, "_ns"):
				fmt.Fprintf(&b, "%s %s", k, fmtDuration(time.Duration(v)))
			default:
				fmt.Fprintf(&b, "%s %d", k, v)
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String returns s formatted as by Format, without the heading line.
func (s Snapshot) String() string {
	var b strings.Builder
	s.Format(&b, "")
	_, rest, _ := strings.Cut(b.String(), "\n")
	return rest
}

// fmtBytes shows n bytes with a binary unit and three significant digits ("512 B", "1.50 KiB",
// "12.3 MiB").
func fmtBytes(n int64) string {
	if n < 1024 && n > -1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		if v < 1024 && v > -1024 || unit == "TiB" {
			return fmtSig3(v) + " " + unit
		}
	}
	panic("unreachable")
}

// fmtDuration shows d with three significant digits ("850ns", "12.3µs", "4.56ms", "1.23s").
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return fmtSig3(float64(d)/1e3) + "µs"
	case d < time.Second:
		return fmtSig3(float64(d)/1e6) + "ms"
	}
	return fmtSig3(d.Seconds()) + "s"
}

// fmtSig3 shows v (at least 1 in magnitude) with three significant digits.
func fmtSig3(v float64) string {
	a := v
	if a < 0 {
		a = -a
	}
	switch {
	case a >= 99.95:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 9.995:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
