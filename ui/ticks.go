package ui

import (
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ticks delivers the quiet refresh loop's interval from a timerfd that Go's network poller
// waits on, instead of from a Go timer.
//
// While every goroutine sleeps, Go's monitor thread (sysmon) sleeps until the next Go timer is
// due and wakes with it, besides the thread that runs the timer. With the loop's four timers a
// second, an idle dashboard's threads woke 16 times a second; with the timerfd, 6 (the poller's
// thread, and sysmon about twice). A timerfd is a file: no Go timer is pending, and the tick is
// read with a raw read, which does not go through the scheduler's system-call path (that path
// wakes a sleeping sysmon too).
type ticks struct {
	c chan struct{}
	f *os.File
}

// startTicks starts a tick every d; the caller stops it. It fails where timerfd is missing.
func startTicks(d time.Duration) (*ticks, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	every := unix.NsecToTimespec(d.Nanoseconds())
	if err := unix.TimerfdSettime(fd, 0, &unix.ItimerSpec{Interval: every, Value: every}, nil); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "refresh timer") // non-blocking: the poller waits on it
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	t := &ticks{c: make(chan struct{}, 1), f: f}
	go func() {
		var n [8]byte // how many intervals passed: a late read counts as one tick
		for {
			err := rc.Read(func(fd uintptr) bool {
				_, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&n[0])), uintptr(len(n)))
				return e != unix.EAGAIN
			})
			if err != nil {
				return // stopped
			}
			select {
			case t.c <- struct{}{}:
			default: // the loop has one waiting already
			}
		}
	}()
	return t, nil
}

// stop ends the ticks; the goroutine reading them returns.
func (t *ticks) stop() { t.f.Close() }
