package proc

import (
	"errors"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Waker lets a wait sleep until something it watches happens instead of polling blindly: a
// watched process exits (its pidfd turns readable), a file appears, moves or changes in a
// watched directory (inotify), or, where the kernel lets this process listen (root in the
// initial network namespace), a watched process forks, execs or exits (the netlink process
// connector). A wake-up is only a hint to look again: what happened is always re-read from
// /proc, and Wait also returns after its timeout, so a Waker that could watch nothing is a
// plain sleep. Not safe for concurrent use.
type Waker struct {
	epfd    int
	inotify int
	conn    *procConn
	handles map[int]*Handle // by pidfd
	buf     []unix.EpollEvent
}

// NewWaker prepares an empty waker; Close releases it.
func NewWaker() *Waker {
	w := &Waker{epfd: -1, inotify: -1, handles: map[int]*Handle{}, buf: make([]unix.EpollEvent, 16)}
	if fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC); err == nil {
		w.epfd = fd
	}
	return w
}

func (w *Waker) add(fd int) error {
	if w.epfd < 0 {
		return errors.New("no epoll")
	}
	return unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
}

// WatchExit wakes the waiter when the process (pid, startTicks) exits. A process already gone
// is not watched: the caller's next look sees it gone.
func (w *Waker) WatchExit(pid int, startTicks uint64) {
	h, err := Open(pid, startTicks)
	if err != nil {
		return
	}
	if w.add(h.FD()) != nil {
		h.Close()
		return
	}
	w.handles[h.FD()] = h
}

// WatchPath wakes the waiter when path's directory sees a file created, moved, deleted or
// written (a pid file renamed to .oldbin and back, a new pid file written), or when path itself
// is written (an error log).
func (w *Waker) WatchPath(path string) {
	if path == "" {
		return
	}
	if w.inotify < 0 {
		fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
		if err != nil || w.add(fd) != nil {
			if err == nil {
				unix.Close(fd)
			}
			return
		}
		w.inotify = fd
	}
	const dirEvents = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE | unix.IN_CLOSE_WRITE
	_, _ = unix.InotifyAddWatch(w.inotify, filepath.Dir(path), dirEvents)
	_, _ = unix.InotifyAddWatch(w.inotify, path, unix.IN_MODIFY)
}

// WatchForks wakes the waiter when one of pids forks or execs a child, or a child of theirs
// execs or exits: how a new master or a new worker shows up. It works only where the netlink
// process connector accepts this process (root, initial network namespace); elsewhere the
// wait falls back to its timeout. It reports whether the connector listens.
func (w *Waker) WatchForks(pids ...int) bool {
	if w.conn == nil {
		c, err := listenProcConn()
		if err != nil {
			return false
		}
		if w.add(c.fd) != nil {
			c.close()
			return false
		}
		w.conn = c
	}
	for _, pid := range pids {
		w.conn.watch[pid] = true
	}
	return true
}

// Wait sleeps until a watched event or the timeout, and tells which.
func (w *Waker) Wait(timeout time.Duration) bool {
	if w.epfd < 0 {
		time.Sleep(timeout)
		return false
	}
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms < 0 {
			return false
		}
		if ms == 0 && time.Until(deadline) > 0 {
			ms = 1
		}
		n, err := unix.EpollWait(w.epfd, w.buf, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return false
		}
		woke := false
		for _, ev := range w.buf[:n] {
			woke = w.consume(int(ev.Fd)) || woke
		}
		if woke {
			return true
		}
	}
}

// consume takes what fd has to say and tells whether it is worth a look.
func (w *Waker) consume(fd int) bool {
	switch {
	case w.handles[fd] != nil:
		// A pidfd stays readable once its process exited: stop watching it, or every later
		// wait would return at once.
		_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, fd, nil)
		w.handles[fd].Close()
		delete(w.handles, fd)
		return true
	case fd == w.inotify:
		drain(fd)
		return true
	case w.conn != nil && fd == w.conn.fd:
		return w.conn.relevant()
	}
	return false
}

func drain(fd int) {
	var b [4096]byte
	for {
		if n, err := unix.Read(fd, b[:]); n <= 0 || err != nil {
			return
		}
	}
}

// Close releases every descriptor.
func (w *Waker) Close() {
	for _, h := range w.handles {
		h.Close()
	}
	w.handles = nil
	if w.conn != nil {
		w.conn.close()
	}
	for _, fd := range []int{w.inotify, w.epfd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	w.inotify, w.epfd = -1, -1
}
