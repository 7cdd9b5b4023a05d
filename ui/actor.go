package ui

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/upgrade"
)

// runnerActor runs steps with nginxctl's Runner, collecting its progress messages. Steps that
// change nginx run under the dashboard's driver lock and journal (lock.go).
type runnerActor struct {
	newRunner func(events func(upgrade.Event)) *upgrade.Runner
	win       *window
}

func (ra *runnerActor) driverWindow() *window { return ra.win }

func newRunnerActor(audit *audit.Log, dirs driver.Dirs) *runnerActor {
	return &runnerActor{win: newWindow(dirs), newRunner: func(events func(upgrade.Event)) *upgrade.Runner {
		// A scanner of its own: the runner polls every few milliseconds, which would skew the
		// dashboard's CPU% intervals if they shared one.
		r := upgrade.NewRunner(inspect.NewScanner(), audit)
		r.Events = events
		return r
	}}
}

func (ra *runnerActor) Do(ctx context.Context, a model.Action, in model.Instance, candidate string) StepResult {
	var mu sync.Mutex
	var lines []string
	var whys []model.Reason
	r := ra.newRunner(func(e upgrade.Event) {
		if e.Message == "" {
			return
		}
		mu.Lock()
		lines = append(lines, e.Message)
		if e.Why.Code != "" {
			whys = append(whys, e.Why)
		}
		mu.Unlock()
	})
	if a != model.ActTest {
		s, err := ra.win.hold(in)
		if err != nil {
			return StepResult{Err: err}
		}
		r.Session = s
	}
	var err error
	var res StepResult
	start := time.Now()
	switch a {
	case model.ActInstall:
		var got audit.Install
		_, got, err = r.Install(ctx, in, candidate)
		if err == nil {
			res.Installed = &got
		}
	case model.ActTest:
		var out []string
		out, err = r.Test(ctx, in, candidate)
		lines = append(lines, out...)
	case model.ActUpgrade:
		_, err = r.Start(ctx, in)
	case model.ActDrain:
		_, err = r.Drain(ctx, in, false)
	case model.ActCommit:
		_, err = r.Commit(ctx, in)
		if j := r.Session.Journal(); j != nil && j.Old.Is(in.Masters[0].PID, in.Masters[0].StartTicks) {
			res.QuitSent = j.QuitSent()
			res.QuitUnsure = res.QuitSent != 0 && j.Unsure("SIGQUIT", j.Old)
		}
	case model.ActRollback:
		_, err = r.Rollback(ctx, in)
		if err == nil {
			res.Rejected = rejectedSince(in.Binary, start)
		}
	default:
		err = errors.New("unknown action")
	}
	mu.Lock()
	defer mu.Unlock()
	res.Lines, res.Whys, res.Err = append([]string(nil), lines...), append([]model.Reason(nil), whys...), err
	return res
}

// rejectedSince is the file a rollback's restore kept beside the binary (<binary>.rejected), if
// it was made since start: the restore links it there, which changes its ctime.
func rejectedSince(binary string, start time.Time) string {
	path := binary + ".rejected"
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return ""
	}
	if time.Unix(st.Ctim.Unix()).Before(start.Add(-time.Second)) {
		return ""
	}
	return path
}
