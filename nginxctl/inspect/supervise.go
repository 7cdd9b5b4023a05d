package inspect

import (
	"context"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor"
)

// Supervise fills in who supervises the instance: systemd's view of its unit (systemctl show,
// run as an argument list), the traps that view shows, or another known supervisor of the
// master. It runs systemctl, so status and the headless commands call it, not every refresh.
// It returns the unit, nil when no unit of this host runs the master.
func Supervise(ctx context.Context, in *model.Instance) *supervisor.Unit {
	if len(in.Masters) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	first := in.Masters[0]
	u, err := supervisor.Find(ctx, first.PID)
	if err != nil || u == nil {
		in.Systemd = nil
		if p, err := supervisor.ParentOf(first.PID); err == nil {
			if s := supervisor.ClassifyParent(p); s.Known() {
				in.SupervisorWhy = s.Reason()
				in.Supervisor = in.SupervisorWhy.String()
			}
		}
		return nil
	}
	in.Systemd = supervisor.NewStatus(*u, *in)
	if f := supervisor.Check(*in, *u); f != nil {
		in.Warn(f.Reason())
	}
	if f := supervisor.CheckPidFile(in.PidFile, *u); f != nil {
		in.Warn(f.Reason())
	}
	return u
}
