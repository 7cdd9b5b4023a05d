package upgrade

import "github.com/hotdeploy/hotdeploy/model"

// SetBeforeRenameForTest lets the chaos case run f between the checks of a staged candidate
// and its rename into place (tests only: the hook is unexported in the binary).
func (r *Runner) SetBeforeRenameForTest(f func(candidate, staged string)) { r.beforeRename = f }

// SetAfterCommitCheckForTest runs f in Commit right after the check that allowed it.
func (r *Runner) SetAfterCommitCheckForTest(f func(in model.Instance)) { r.afterCommitCheck = f }
