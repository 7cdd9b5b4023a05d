package upgrade

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/driver"
	"github.com/hotdeploy/hotdeploy/nginxctl/proc"
)

// TestRestoreSourceNoteIsAReason: the note a rollback gives when the journal's backup cannot be
// used is a reason (the dashboard says it in its language), and its English sentence is the one
// the command line and JSON always printed. The "master" is this test process: only its
// /proc/PID/exe is read, nothing is signalled.
func TestRestoreSourceNoteIsAReason(t *testing.T) {
	st, err := proc.NewReader().Stat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	m := model.Master{Process: model.Process{PID: os.Getpid(), StartTicks: st.StartTicks, Role: model.RoleMaster}}
	running := filepath.Join("/proc", strconv.Itoa(m.PID), "exe")
	dir := t.TempDir()
	other := filepath.Join(dir, "nginx.other")
	if err := os.WriteFile(other, []byte("another build"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, backup, code string
	}{
		{"unreadable", filepath.Join(dir, "nginx.old"), "the journal's backup %s cannot be read (%v): restored from %s instead"},
		{"another build", other, "the journal's backup %s holds another build (sha256 %.12s, master %d runs %.12s): restored from %s instead"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dirs := driver.Dirs{Runtime: filepath.Join(t.TempDir(), "run"), State: filepath.Join(t.TempDir(), "state")}
			s, err := driver.Begin(dirs, filepath.Join(dir, tc.name+".pid"), "test")
			if err != nil {
				t.Fatal(err)
			}
			defer s.End()
			ref := driver.Master{PID: m.PID, StartTicks: m.StartTicks}
			if err := s.Track(ref, "", "", func(j *driver.Journal) { j.Backup = tc.backup }); err != nil {
				t.Fatal(err)
			}
			r := &Runner{Session: s}
			from, _, note, err := r.restoreSource(m)
			if err != nil || from != running {
				t.Fatalf("restoreSource = %q, %v: want %s", from, err, running)
			}
			if note.Code != tc.code {
				t.Fatalf("note code %q, want %q", note.Code, tc.code)
			}
			if s := note.String(); !strings.HasPrefix(s, "the journal's backup "+tc.backup+" ") || !strings.HasSuffix(s, ": restored from "+running+" instead") {
				t.Errorf("note %q: the English sentence changed", s)
			}
		})
	}
}

// TestDrainStateNamesEachWorker: the drain's progress lists each draining worker as a reason of
// its own, so the screen joins them in its language; in English the list reads as it always did.
func TestDrainStateNamesEachWorker(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w := func(pid int, down time.Duration) model.Process {
		return model.Process{PID: pid, Role: model.RoleWorker, ShuttingDown: down > 0, DrainingSince: now.Add(-down)}
	}
	o := model.Master{Process: model.Process{PID: 1000, Role: model.RoleMaster},
		Children: []model.Process{w(1001, 2300*time.Millisecond), w(1002, time.Second), w(1003, 0)}}
	r := drainState(o, now)
	want := "old master 1000: 3 children left, 1 still accepting; draining: worker 1001 for 2.3s, worker 1002 for 1s"
	if r.String() != want {
		t.Errorf("drainState = %q, want %q", r.String(), want)
	}
	list, ok := r.Args[len(r.Args)-1].(model.Reasons)
	if !ok || len(list) != 2 || list[0].Code != "%s %d for %s" {
		t.Errorf("drainState's list %#v: want model.Reasons, one per draining worker", r.Args[len(r.Args)-1])
	}
}
