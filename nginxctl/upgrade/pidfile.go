package upgrade

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// rewritePidFile writes the pid file of in again for master m when it went missing during an
// upgrade (nginx, systemd's PIDFile= and `nginx -s` all find the master through it), atomically,
// and says so. m must still be the process seen (pid and start time); when the file cannot be
// written the operator is told the exact state instead. It returns the instance re-read.
func (r *Runner) rewritePidFile(in model.Instance, m model.Process, step string) model.Instance {
	if in.PidFile == "" || proc.Exited(m.PID, m.StartTicks) {
		return in
	}
	tmp := filepath.Join(filepath.Dir(in.PidFile), "."+filepath.Base(in.PidFile)+".hotdeploy")
	err := os.WriteFile(tmp, []byte(strconv.Itoa(m.PID)+"\n"), 0o644)
	if err == nil {
		if err = os.Rename(tmp, in.PidFile); err == nil {
			err = syncDir(filepath.Dir(in.PidFile))
		} else {
			os.Remove(tmp)
		}
	}
	if err != nil {
		r.emit(Event{Step: step, Kind: "warning", PID: m.PID, Why: model.Because(
			"%s is missing and could not be written again (%v): master %d serves; write its pid there by hand, "+
				"or systemd and `nginx -s` will not find it", in.PidFile, err, m.PID)})
		return in
	}
	r.emit(Event{Step: step, Kind: "warning", PID: m.PID, Why: model.Because(
		"%s had disappeared (removed by something else than nginx); hotdeploy wrote it again with master %d", in.PidFile, m.PID)})
	if cur, err := r.Scanner.Refresh(in); err == nil {
		return cur
	}
	return in
}
