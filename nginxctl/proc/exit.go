package proc

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exited tells whether the process that had pid and started at startTicks has exited, as the
// kernel says it: /proc/PID/stat is gone, or a later process now holds the pid, or it shows a
// zombie that a pidfd confirms (leaderGone). Any other failure to read it (a permission error, a
// malformed line) is not an exit: a refresh that cannot classify a process has learned nothing
// about whether it lives.
func Exited(pid int, startTicks uint64) bool {
	st, err := NewReader().Stat(pid)
	switch {
	case err != nil:
		return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
	case st.StartTicks != startTicks:
		return true // the pid was recycled: the process it named is gone
	default:
		return (st.State == 'Z' || st.State == 'X') && leaderGone(pid)
	}
}

// leaderGone confirms what a zombie in /proc/PID/stat says. That file shows the thread-group
// leader, and a leader can be a zombie while its process lives on: it called pthread_exit with
// other threads running, or another thread of a multi-threaded program is exec'ing (the kernel
// makes the leader a zombie, then gives its pid to the exec'ing thread, start time and all). A
// Go program that execs nginx does the latter; the chaos suite saw it taken for an exit. A
// pidfd polls readable only once the whole thread group has exited. Where no pidfd can be had
// (a kernel without pidfd_open), the zombie is taken at its word.
func leaderGone(pid int) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true // ESRCH: gone since; anything else: no better word than /proc's
	}
	defer unix.Close(fd)
	gone, err := pidfdReadable(fd)
	return err != nil || gone
}

// pidfdReadable polls a pidfd without waiting: readable once its whole process has exited.
func pidfdReadable(fd int) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0 && fds[0].Revents&(unix.POLLIN|unix.POLLHUP) != 0, err
	}
}

// Handle is a pidfd held on one process: it becomes readable when that process exits, whatever
// pid the kernel hands out next, so waits wake on the exit itself instead of polling for it.
type Handle struct {
	fd    int
	pid   int
	start uint64
}

// Open takes a pidfd on pid and checks afterwards that the pid still names the process that
// started at startTicks: a pid recycled before the pidfd was opened would otherwise be watched
// in its place. It returns ErrGone when that process has already exited.
func Open(pid int, startTicks uint64) (*Handle, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("pidfd of pid %d: not a pid", pid)
	}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if errors.Is(err, unix.ESRCH) {
		return nil, fmt.Errorf("pid %d: %w", pid, ErrGone)
	}
	if err != nil {
		return nil, fmt.Errorf("pidfd of pid %d: %w", pid, err)
	}
	h := &Handle{fd: fd, pid: pid, start: startTicks}
	if Exited(pid, startTicks) {
		h.Close()
		return nil, fmt.Errorf("pid %d: %w", pid, ErrGone)
	}
	return h, nil
}

// FD is the pidfd, for a poll set; it stays owned by the handle.
func (h *Handle) FD() int { return h.fd }

// PID is the pid the handle watches.
func (h *Handle) PID() int { return h.pid }

// Exited tells whether the process has exited: its pidfd polls readable (it is a zombie or
// reaped). Should polling fail, /proc decides.
func (h *Handle) Exited() bool {
	gone, err := pidfdReadable(h.fd)
	if err != nil {
		return Exited(h.pid, h.start)
	}
	return gone
}

// Close releases the pidfd.
func (h *Handle) Close() {
	if h != nil && h.fd >= 0 {
		unix.Close(h.fd)
		h.fd = -1
	}
}
