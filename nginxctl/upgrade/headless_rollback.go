package upgrade

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor"
)

// Rollback runs `hotdeploy rollback`: back to the old binary from whatever phase; in idle, it
// restores the binary file if one was installed but not started. Once started it is not
// interrupted: a half-done rollback is worse than a finished one, and every wait is bounded.
func Rollback(ctx context.Context, opts HeadlessOptions, out io.Writer) int {
	h, r, in, err := newHeadless(ctx, opts, out, "rollback")
	defer h.end()
	if err != nil {
		return h.finish("refused", in, err)
	}
	if j := r.journal(); j != nil && j.Old.Is(in.Masters[0].PID, in.Masters[0].StartTicks) {
		h.res.Backup = j.Backup
	}
	h.res.OldBuild = runningBuild(in.Masters[0]) // the build that serves again
	if nw := in.New(); nw != nil {
		h.res.NewPID = nw.PID
		h.res.NewBuild = runningBuild(*nw) // the build rolled back from
	} else if err := somethingToRestore(in); err != nil {
		return h.finish("refused", in, err)
	} else if in.BinaryDiffers {
		h.res.NewBuild = diskBuild(in) // installed, never started (or its master died)
	}
	if v := model.Check(in, model.Context{QuitSent: r.quitSent(in), QuitUnsure: r.quitUnsure(in)}, model.ActRollback); !v.Allowed && in.New() != nil {
		return h.finish("refused", in, errors.New(v.Reason))
	}
	if in, err = r.Rollback(context.WithoutCancel(ctx), in); err != nil {
		return h.finish("failed", in, err)
	}
	return h.finishCode("rolled-back", h.systemdAfter(ctx, in, supervisor.AfterRollback), in, nil)
}

// somethingToRestore says why a rollback with no new master running would have nothing to do.
func somethingToRestore(in model.Instance) error {
	m := in.Masters[0]
	same, err := inspect.BinaryIsRunning(m.PID, in.Binary)
	switch {
	case len(in.Orphans) > 0:
		return nil // processes of a dead master still serve: ending them is the rollback
	case err != nil:
		return err
	case same || !in.BinaryDiffers:
		return fmt.Errorf("no upgrade is running and %s holds the binary master %d runs: nothing to roll back", in.Binary, m.PID)
	}
	return nil
}
