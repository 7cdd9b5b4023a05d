package ui

import (
	"context"
	"sync"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
	"github.com/hotdeploy/hotdeploy/nginxctl/supervisor"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// Source is where the dashboard reads the live system. The real one wraps nginxctl's Scanner;
// tests hand in synthetic instances, so views and key handling are deterministic.
type Source interface {
	// Scan is a full discovery (restricted to the instance the operator named, if any).
	Scan() (model.Snapshot, error)
	// Refresh re-reads one known instance cheaply.
	Refresh(in model.Instance) (model.Instance, error)
	// LogLines returns the lines appended to an error log since the previous call for that path.
	LogLines(path string) []string
}

// Clock tells the time the views measure uptimes and timings against.
type Clock interface{ Now() time.Time }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// Actor performs one upgrade step. The real one is nginxctl's Runner.
type Actor interface {
	Do(ctx context.Context, a model.Action, in model.Instance, candidate string) StepResult
}

// StepResult is what a step reports back to the dashboard.
type StepResult struct {
	// Lines are what the step said (progress messages, or the config test's output); Whys
	// holds the progress messages as reasons, for the screen's language.
	Lines []string
	Whys  []model.Reason
	Err   error
	// Installed is what an install put in place and where it kept the running binary.
	Installed *audit.Install
	// Rejected is where a rollback kept the file it replaced on disk ("" when it kept none).
	Rejected string
	// QuitSent is the old master a commit's journal says got SIGQUIT (0: none; also when the
	// commit failed before sending, or the kill failed), and QuitUnsure whether the journal's
	// last word on it is "sending".
	QuitSent   int
	QuitUnsure bool
}

// liveSource reads /proc through a Scanner, counts the workers' connections and follows error
// logs.
type liveSource struct {
	sc     *inspect.Scanner
	conns  *traffic.ConnCounter
	target inspect.Target
	mu     sync.Mutex
	tails  map[string]*inspect.LogTail
	// shown is the instance last refreshed, the one on screen: a scan counts connections for
	// it only (the counter caches one instance's sockets).
	shown       string
	supervision supervision
	// counted is the shown instance as the last refresh or scan gave it, with its connection
	// counts: a scan while none of its processes ran since carries them (no worker accepted or
	// closed a connection) instead of dumping the host's socket table.
	counted *model.Instance
	// countsFresh says the counts carried are from a dump made after the processes' scheduler
	// figures were noted (or that counting failed, and they are unknown): none kept within the
	// counter's CPU share, which may predate a connection. Only fresh counts are carried.
	countsFresh bool
}

func newLiveSource(sc *inspect.Scanner, t inspect.Target) *liveSource {
	return &liveSource{sc: sc, conns: traffic.NewConnCounter(), target: t, tails: map[string]*inspect.LogTail{}}
}

func (s *liveSource) Scan() (model.Snapshot, error) {
	s.mu.Lock()
	shown, counted := s.shown, s.counted
	s.mu.Unlock()
	// Asked before the scan reads the processes (and notes their scheduler figures anew).
	still := counted != nil && s.carryable() && s.sc.Still(*counted)
	snap, err := s.sc.Resolve(s.target)
	for i := range snap.Instances {
		if in := &snap.Instances[i]; in.Key() == shown || len(snap.Instances) == 1 {
			if still && in.Key() == counted.Key() {
				carryConns(*counted, in)
			} else {
				s.countConns(in)
			}
			s.noteCounted(*in)
			// systemctl runs with the scan (every few seconds), never with each refresh.
			before, beforeWhy := len(in.Warnings), len(in.WarningsWhy)
			inspect.Supervise(context.Background(), in)
			s.mu.Lock()
			s.supervision = supervision{key: in.Key(), unit: in.Systemd, other: in.Supervisor, otherWhy: in.SupervisorWhy,
				warnings:    append([]string(nil), in.Warnings[before:]...),
				warningsWhy: append([]model.Reason(nil), in.WarningsWhy[beforeWhy:]...)}
			s.mu.Unlock()
		}
	}
	return snap, err
}

// supervision is what the last scan learnt of the shown instance's supervisor.
type supervision struct {
	key         string
	unit        *model.SystemdUnit
	other       string
	otherWhy    model.Reason
	warnings    []string
	warningsWhy []model.Reason
}

func (s *liveSource) Refresh(in model.Instance) (model.Instance, error) {
	return s.refresh(in, true)
}

// RefreshStill is Refresh right after Still said none of in's processes ran: no worker
// accepted or closed a connection, so the counts are in's, without a dump of the host's
// socket table.
func (s *liveSource) RefreshStill(in model.Instance) (model.Instance, error) {
	return s.refresh(in, false)
}

func (s *liveSource) refresh(in model.Instance, count bool) (model.Instance, error) {
	cur, err := s.sc.Refresh(in)
	if err == nil {
		s.mu.Lock()
		s.shown = cur.Key()
		sv := s.supervision
		s.mu.Unlock()
		if count || !s.carryable() {
			s.countConns(&cur)
		} else {
			carryConns(in, &cur)
		}
		s.noteCounted(cur)
		if sv.key == cur.Key() {
			// MainPID as systemd last said it, judged against the tree as it is now.
			if sv.unit != nil {
				u := *sv.unit
				u.MainPIDOK = len(cur.Masters) > 0 && u.MainPID == cur.Masters[0].PID
				cur.Systemd = &u
			}
			cur.Supervisor, cur.SupervisorWhy = sv.other, sv.otherWhy
			cur.Warnings = append(cur.Warnings, sv.warnings...)
			cur.WarningsWhy = append(cur.WarningsWhy, sv.warningsWhy...)
			warnReload(&cur)
		}
	}
	return cur, err
}

// Still tells whether a refresh of in would read what the last one did (inspect.Scanner.Still).
func (s *liveSource) Still(in model.Instance) bool { return s.sc.Still(in) }

// carryable tells whether the last counts may be carried while nothing runs.
func (s *liveSource) carryable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.countsFresh
}

// warnReload warns, while an upgrade of a systemd unit runs, against `systemctl reload`, saying
// what the unit's reload would signal; from the phase of this refresh, so the warning comes and
// goes with the upgrade.
func warnReload(in *model.Instance) {
	if u := in.Systemd; u != nil && in.Phase != model.PhaseIdle {
		in.Warn(supervisor.ReloadWarning(u.Unit, u.ExecReload))
	}
}

// noteCounted keeps in as the instance whose connection counts are the latest.
func (s *liveSource) noteCounted(in model.Instance) {
	s.mu.Lock()
	s.counted = &in
	s.mu.Unlock()
}

// carryConns gives each worker of cur the count it had in prev (same pid and start).
func carryConns(prev model.Instance, cur *model.Instance) {
	for i := range cur.Masters {
		for j := range cur.Masters[i].Children {
			c := &cur.Masters[i].Children[j]
			if p, ok := prev.Find(c.PID); ok && p.StartTicks == c.StartTicks {
				c.Conns = p.Conns
			}
		}
	}
}

// countConns fills in the established connections of each worker. Without permission to read
// the workers' sockets (not root) the counts stay unknown and the column stays hidden.
func (s *liveSource) countConns(in *model.Instance) {
	counts, fresh, err := s.conns.CountFresh(*in)
	s.mu.Lock()
	s.countsFresh = fresh || err != nil
	s.mu.Unlock()
	if err != nil {
		return
	}
	for i := range in.Masters {
		for j := range in.Masters[i].Children {
			c := &in.Masters[i].Children[j]
			if n, ok := counts[c.PID]; ok {
				c.Conns = n
			}
		}
	}
}

func (s *liveSource) LogLines(path string) []string {
	if path == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tails[path]
	if !ok {
		t = inspect.NewLogTail(path)
		s.tails[path] = t
	}
	lines, err := t.Read()
	if err != nil {
		// Unreadable (not root) or not there yet: read it from its start once it appears.
		s.tails[path] = &inspect.LogTail{Path: path}
		return nil
	}
	return lines
}
