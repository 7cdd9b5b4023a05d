package upgrade

import (
	"context"
	"syscall"

	"github.com/hotdeploy/hotdeploy/model"
)

// SendForTest lets the external tests send one signal the way a step does (identity check and
// audit entry included).
func (r *Runner) SendForTest(ctx context.Context, in model.Instance, a model.Action, p model.Process, sig syscall.Signal) error {
	return r.send(ctx, in, a, p, sig)
}

// SetBeforeRenameForTest sets the hook that runs between the checks of a staged candidate and
// its rename into place.
func SetBeforeRenameForTest(r *Runner, hook func(candidate, staged string)) { r.beforeRename = hook }

// PickOneForTest exposes how a discovery's instances are narrowed to one, or refused.
var PickOneForTest = pickOne
