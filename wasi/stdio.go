package wasi

import (
	"context"
	"io"
	"sync"

	"github.com/wasmrun/wasmrun/vfs"
)

// outStream is standard output or error.
type outStream struct{ w io.Writer }

// write writes every view in order and returns the bytes written; a writer error after some
// bytes is reported as a short count, as write(2) does.
func (o *outStream) write(views [][]byte) (uint32, vfs.Errno) {
	if o.w == nil {
		var n uint32
		for _, v := range views {
			n += uint32(len(v))
		}
		return n, vfs.ESUCCESS
	}
	var n uint32
	for _, v := range views {
		if len(v) == 0 {
			continue
		}
		m, err := o.w.Write(v)
		n += uint32(m)
		if err != nil || m < len(v) {
			if n > 0 {
				return n, vfs.ESUCCESS
			}
			return 0, vfs.EIO
		}
	}
	return n, vfs.ESUCCESS
}

// stdinChunk is how much the stdin goroutine reads ahead at most.
const stdinChunk = 16 << 10

// inStream is standard input. A goroutine (the pump), started by the first read or poll, reads
// one chunk at a time from the reader into buf while the guest has consumed everything before
// it, so a read or a poll can wait for data together with a timeout or the context instead of
// blocking in Read. With a nil reader the stream is empty: always ready, always at EOF.
type inStream struct {
	r io.Reader

	mu      sync.Mutex
	started bool
	buf     []byte        // owned by the pump while data is empty and err is nil
	data    []byte        // unread bytes, a tail of buf
	err     error         // io.EOF or the reader's error, after data
	avail   chan struct{} // the pump says: data or err arrived
	want    chan struct{} // the guest says: data is consumed, read more
	done    chan struct{} // closed by close
	stopped bool
}

func (s *inStream) startLocked() {
	if s.started || s.r == nil {
		return
	}
	s.started = true
	s.buf = make([]byte, stdinChunk)
	s.avail = make(chan struct{}, 1)
	s.want = make(chan struct{}, 1)
	s.done = make(chan struct{})
	go s.pump(s.r, s.buf)
}

func (s *inStream) pump(r io.Reader, buf []byte) {
	for {
		n, err := r.Read(buf)
		if n == 0 && err == nil {
			continue
		}
		s.mu.Lock()
		s.data = buf[:n]
		s.err = err
		s.mu.Unlock()
		select {
		case s.avail <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
		select {
		case <-s.want:
		case <-s.done:
			return
		}
	}
}

// ready reports whether a read would not block, and how many bytes are buffered. It starts the
// pump.
func (s *inStream) ready() (bool, int, bool) {
	if s.r == nil {
		return true, 0, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startLocked()
	return len(s.data) > 0 || s.err != nil, len(s.data), len(s.data) == 0 && s.err != nil
}

// availCh is the channel the pump signals; nil when there is no reader.
func (s *inStream) availCh() <-chan struct{} {
	return s.avail
}

// read fills views from the stream. It blocks until at least one byte or the end of the
// stream is there, unless nonblock (EAGAIN); a read of 0 bytes returns at once, as read(2).
// When ctx is done while it waits, it reports done and the caller ends the guest.
func (s *inStream) read(ctx context.Context, views [][]byte, nonblock bool) (n uint32, e vfs.Errno, done bool) {
	total := 0
	for _, v := range views {
		total += len(v)
	}
	if s.r == nil || total == 0 {
		return 0, vfs.ESUCCESS, false
	}
	for {
		s.mu.Lock()
		s.startLocked()
		if len(s.data) > 0 {
			for _, v := range views {
				c := copy(v, s.data)
				s.data = s.data[c:]
				n += uint32(c)
				if len(s.data) == 0 {
					break
				}
			}
			if len(s.data) == 0 && s.err == nil {
				select {
				case s.want <- struct{}{}:
				default:
				}
			}
			s.mu.Unlock()
			return n, vfs.ESUCCESS, false
		}
		if err := s.err; err != nil {
			s.mu.Unlock()
			if err == io.EOF {
				return 0, vfs.ESUCCESS, false
			}
			return 0, vfs.EIO, false
		}
		s.mu.Unlock()
		if nonblock {
			return 0, vfs.EAGAIN, false
		}
		select {
		case <-s.avail:
		case <-ctx.Done():
			return 0, vfs.ECANCELED, true
		}
	}
}

func (s *inStream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started && !s.stopped {
		s.stopped = true
		close(s.done)
	}
}
