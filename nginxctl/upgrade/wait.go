package upgrade

import (
	"context"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// await refreshes the instance until check says done or fails, the timeout passes or ctx ends.
// check sees every refresh, including a failed one (err set, cur the last good view). Between
// refreshes it sleeps on a proc.Waker: a watched process exiting, the pid file's directory or
// the error log changing, or (where the kernel allows) a fork or exec by a master wakes it at
// once. Without an event it looks again after 1, 2, 4, 8 ms, then every Poll, as nginx usually
// shows a signal's effect within a few milliseconds.
func (r *Runner) await(ctx context.Context, in model.Instance, timeout time.Duration,
	check func(cur model.Instance, err error) (bool, error)) (model.Instance, error) {
	deadline := time.Now().Add(timeout)
	poll := r.Poll
	if poll <= 0 {
		poll = 10 * time.Millisecond
	}
	w := newWatch(in, !r.NoEvents)
	defer w.close()
	for step := time.Millisecond; ; step = min(2*step, poll) {
		cur, err := r.Scanner.Refresh(in)
		if err == nil {
			in = cur
			w.follow(in)
		}
		if done, cerr := check(in, err); cerr != nil || done {
			return in, cerr
		}
		if err := ctx.Err(); err != nil {
			return in, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return in, errWaitTimeout
		}
		w.wait(min(step, left))
	}
}

// watch is the waker of one wait, following the processes of the instance as they appear.
type watch struct {
	waker *proc.Waker
	seen  map[int]uint64
}

func newWatch(in model.Instance, events bool) *watch {
	if !events {
		return &watch{}
	}
	w := &watch{waker: proc.NewWaker(), seen: map[int]uint64{}}
	w.waker.WatchPath(in.PidFile)
	w.waker.WatchPath(in.ErrorLog)
	var masters []int
	for _, m := range in.Masters {
		masters = append(masters, m.PID)
	}
	w.waker.WatchForks(masters...)
	w.follow(in)
	return w
}

// follow watches the exit of every process of in not watched yet.
func (w *watch) follow(in model.Instance) {
	if w.waker == nil {
		return
	}
	add := func(p model.Process) {
		if w.seen[p.PID] != p.StartTicks {
			w.seen[p.PID] = p.StartTicks
			w.waker.WatchExit(p.PID, p.StartTicks)
		}
	}
	for _, m := range in.Masters {
		add(m.Process)
		for _, c := range m.Children {
			add(c)
		}
	}
	for _, o := range in.Orphans {
		add(o)
	}
}

func (w *watch) wait(d time.Duration) {
	if w.waker == nil {
		time.Sleep(d)
		return
	}
	w.waker.Wait(d)
}

func (w *watch) close() {
	if w.waker != nil {
		w.waker.Close()
	}
}
