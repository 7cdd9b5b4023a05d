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
