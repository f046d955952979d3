package wasi

import (
	"context"
	"math"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/wasmrun/wasmrun/vfs"
)

// subscription is one decoded subscription record (48 bytes: userdata u64 at 0, tag u8 at 8, the
// union at 16: clock id u32 at 16, timeout u64 at 24, precision u64 at 32, flags u16 at 40; or
// file_descriptor u32 at 16).
type subscription struct {
	userdata uint64
	tag      uint8
	fd       uint32
	deadline int64     // clock: when it fires, on p.nano's scale
	fired    bool      // clock: the timer for its deadline went off
	err      vfs.Errno // an error to report for it at once
}

const eventrwHangup = 1

// maxSubscriptions bounds one poll_oneoff call, as RLIMIT_NOFILE bounds poll(2)'s nfds, so that
// a guest cannot make the host allocate gigabytes of subscription state.
const maxSubscriptions = 1 << 16

// pollOneoff implements poll_oneoff(in, out, nsubscriptions) -> nevents. It reports every
// subscription that is ready, waiting until at least one is:
//
//   - clock: relative or ABSTIME, on the real-time, monotonic or (emulated) CPU-time clocks; the
//     wait is a Go timer, precision is ignored. An unknown clock is an event with EINVAL.
//   - fd_read / fd_write on a file or directory: always ready (the spec says regular files
//     always are), nbytes being what is left to read.
//   - fd_read on stdin: ready when the stdin goroutine has data or hit the end (hangup flag);
//     fd_write on stdout or stderr: always ready.
//   - a bad fd is an event with EBADF, and so is fd_read on an fd not opened for reading,
//     fd_write on one not opened for writing, either on a directory (as wasmtime). In the default
//     mode no right is checked (see doc.go, Rights); in strict mode an fd without
//     poll_fd_readwrite is an event with ENOTCAPABLE.
//
// If ctx is done while waiting, the guest exits as wazero ends a guest whose context is done.
// Errors: EINVAL (no subscription or more than 65536, unknown event type), EFAULT.
func pollOneoff(ctx context.Context, mod api.Module, p *Process, s []uint64) vfs.Errno {
	_ = s[3]
	in, out, count, res := u32(s[0]), u32(s[1]), u32(s[2]), u32(s[3])
	if count == 0 || count > maxSubscriptions {
		return vfs.EINVAL
	}
	m := p.memory(mod)
	inV, ok := viewN(m, in, count, sizeSubscription)
	if !ok {
		return vfs.EFAULT
	}
	if _, ok := viewN(m, out, count, sizeEvent); !ok {
		return vfs.EFAULT
	}
	if _, ok := view(m, res, 4); !ok {
		return vfs.EFAULT
	}
	subs := p.subs[:0]
	now := p.nano()
	waitStdin := false
	for i := uint32(0); i < count; i++ {
		r := inV[i*sizeSubscription : (i+1)*sizeSubscription]
		sub := subscription{userdata: le.Uint64(r), tag: r[8]}
		switch sub.tag {
		case eventClock:
			sub.deadline, sub.err = p.clockDeadline(now, le.Uint32(r[16:]), le.Uint64(r[24:]), le.Uint16(r[40:]))
		case eventFdRead, eventFdWrite:
			sub.fd = le.Uint32(r[16:])
			want := accRead
			if sub.tag == eventFdWrite {
				want = accWrite
			}
			e, err := p.lookupAccess(sub.fd, want, false, rightPollFdReadwrite)
			if err == vfs.ESUCCESS && e.kind == kindDir {
				err = vfs.EBADF // nothing is ever read from or written to a directory fd
			}
			sub.err = err
			if err == vfs.ESUCCESS && e.kind == kindStdin && sub.tag == eventFdRead {
				waitStdin = true
			}
		default:
			p.subs = subs
			return vfs.EINVAL
		}
		subs = append(subs, sub)
	}
	p.subs = subs

	for {
		if n := p.pollReady(m, out); n > 0 {
			writeU32(m, res, n)
			return vfs.ESUCCESS
		}
		// Nothing is ready: wait for the earliest clock, stdin, or ctx.
		next := int64(math.MaxInt64)
		for i := range p.subs {
			if sub := &p.subs[i]; sub.tag == eventClock && sub.err == vfs.ESUCCESS && sub.deadline < next {
				next = sub.deadline
			}
		}
		var timerC <-chan time.Time
		if next != math.MaxInt64 {
			d := time.Duration(next - p.nano())
			if p.timer == nil {
				p.timer = time.NewTimer(d)
			} else {
				p.timer.Reset(d)
			}
			timerC = p.timer.C
		}
		var stdinC <-chan struct{}
		if waitStdin {
			stdinC = p.stdin.availCh()
		}
		select {
		case <-timerC:
			// The timer waited the real duration: the clocks due by then fired even if a
			// configured Nanotime did not move.
			for i := range p.subs {
				if sub := &p.subs[i]; sub.tag == eventClock && sub.deadline <= next {
					sub.fired = true
				}
			}
		case <-stdinC:
		case <-ctx.Done():
			if p.timer != nil {
				p.timer.Stop()
			}
			exitGuest(ctx, mod)
		}
		if p.timer != nil {
			p.timer.Stop()
		}
	}
}

// clockDeadline turns a clock subscription into a deadline on p.nano's scale. Errors: EINVAL
// (unknown clock or flags).
func (p *Process) clockDeadline(now int64, id uint32, timeout uint64, flags uint16) (int64, vfs.Errno) {
	if flags&^subclockAbstime != 0 {
		return 0, vfs.EINVAL
	}
	t := int64(min(timeout, math.MaxInt64))
	delay := t
	if flags&subclockAbstime != 0 {
		cur, err := p.clockNow(id)
		if err != vfs.ESUCCESS {
			return 0, err
		}
		delay = t - cur
	} else if _, err := p.clockNow(id); err != vfs.ESUCCESS {
		return 0, err
	}
	if delay > 0 && now > math.MaxInt64-delay {
		return math.MaxInt64 - 1, vfs.ESUCCESS
	}
	return now + delay, vfs.ESUCCESS
}

// pollReady writes an event for each ready subscription and returns how many.
func (p *Process) pollReady(m api.Memory, out uint32) uint32 {
	var n uint32
	now := p.nano()
	for i := range p.subs {
		sub := &p.subs[i]
		var nbytes uint64
		var flags uint16
		ready := sub.err != vfs.ESUCCESS
		if !ready {
			switch sub.tag {
			case eventClock:
				ready = sub.fired || now >= sub.deadline
			default:
				e := p.fds.get(sub.fd)
				switch {
				case e.kind == kindStdin:
					var avail int
					var eof bool
					ready, avail, eof = p.stdin.ready()
					nbytes = uint64(avail)
					if eof {
						flags = eventrwHangup
					}
				case e.h != nil && sub.tag == eventFdRead:
					ready = true
					if st, err := p.ns.Stat(e.h.Node); err == vfs.ESUCCESS && st.Size > e.offset {
						nbytes = uint64(st.Size - e.offset)
					}
				default:
					ready = true
				}
			}
		}
		if !ready {
			continue
		}
		b, _ := view(m, out+n*sizeEvent, sizeEvent)
		clear(b)
		le.PutUint64(b, sub.userdata)
		le.PutUint16(b[8:], uint16(toErrno(sub.err))) // the event record is an edge too
		b[10] = sub.tag
		if sub.tag != eventClock {
			le.PutUint64(b[16:], nbytes)
			le.PutUint16(b[24:], flags)
		}
		n++
	}
	return n
}
