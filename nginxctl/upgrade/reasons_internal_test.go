package upgrade

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
