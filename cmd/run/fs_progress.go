package run

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progressBar draws the progress of a long subcommand on standard error, when it is a terminal:
//
//	export  [=================>          ]  61%   1.2G / 2.0G   85M/s
//
// or, when the total is not known, the bytes done and the rate. It redraws at most ten times a
// second, on one line, and ends it with a newline. A nil *progressBar draws nothing, so callers
// use one whether or not there is a terminal.
type progressBar struct {
	w     io.Writer
	label string
	total int64 // < 0: unknown
	done  int64
	start time.Time
	last  time.Time // of the last draw
	drawn bool
	now   func() time.Time
}

// progress returns a bar for label, or nil when standard error is not a terminal.
func (c *fsContext) progress(label string, total int64) *progressBar {
	if !c.tty {
		return nil
	}
	return newProgressBar(c.stderr, label, total, time.Now)
}

func newProgressBar(w io.Writer, label string, total int64, now func() time.Time) *progressBar {
	return &progressBar{w: w, label: label, total: total, start: now(), now: now}
}

// set records done bytes and redraws if the last draw is old enough.
func (p *progressBar) set(done int64) {
	if p == nil {
		return
	}
	p.done = done
	if t := p.now(); !p.drawn || t.Sub(p.last) >= 100*time.Millisecond {
		p.draw(t)
	}
}

// setTotal is set for callbacks that also report the total.
func (p *progressBar) setTotal(done, total int64) {
	if p == nil {
		return
	}
	p.total = total
	p.set(done)
}

// finish draws the final state and ends the line, if anything was drawn.
func (p *progressBar) finish() {
	if p == nil || !p.drawn {
		return
	}
	p.draw(p.now())
	io.WriteString(p.w, "\n")
}

func (p *progressBar) draw(t time.Time) {
	p.last, p.drawn = t, true
	io.WriteString(p.w, "\r"+p.line(t.Sub(p.start))+"\x1b[K")
}

// line renders the bar after elapsed time.
func (p *progressBar) line(elapsed time.Duration) string {
	rate := ""
	if s := elapsed.Seconds(); s > 0 {
		rate = fmt.Sprintf("   %s/s", humanSize(int64(float64(p.done)/s)))
	}
	if p.total <= 0 {
		return fmt.Sprintf("%-8s %s%s", p.label, humanSize(p.done), rate)
	}
	frac := min(float64(p.done)/float64(p.total), 1)
	const width = 30
	fill := int(frac * width)
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	return fmt.Sprintf("%-8s [%s] %3d%%   %s / %s%s", p.label, bar, int(frac*100), humanSize(p.done), humanSize(p.total), rate)
}

// countingReader reports the bytes read through it to a progress bar.
type countingReader struct {
	r   io.Reader
	n   int64
	bar *progressBar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.bar.set(c.n)
	return n, err
}
