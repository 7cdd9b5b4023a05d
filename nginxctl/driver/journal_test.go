package driver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJournalRoundTripIsAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	key := "/run/j-nginx.pid"
	if j, err := LoadJournal(dir, key); j != nil || err != nil {
		t.Fatalf("no journal yet: %v %v", j, err)
	}
	old := Master{PID: 100, StartTicks: 5}
	j := &Journal{Instance: key, Old: &old, Backup: "/usr/sbin/nginx.old", BackupSHA256: "ab",
		Signals: []Signal{{Signal: "SIGUSR2", PID: 100, StartTicks: 5, Result: "sent"}}}
	if err := SaveJournal(dir, j); err != nil {
		t.Fatal(err)
	}
	got, err := LoadJournal(dir, key)
	if err != nil || got.Backup != j.Backup || !got.Old.Is(100, 5) || len(got.Signals) != 1 || got.Version != JournalVersion {
		t.Fatalf("loaded %+v, %v", got, err)
	}
	st, err := os.Stat(JournalPath(dir, key))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v, %v: want 0600", st.Mode(), err)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, ".*")); len(names) != 0 {
		t.Errorf("temporary files left: %v", names)
	}
	b := fmt.Sprintf(`{"version":%d,"instance":%q}`, JournalVersion+1, key)
	if err := os.WriteFile(JournalPath(dir, key), []byte(b), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadJournal(dir, key); err == nil || !strings.Contains(err.Error(), "newer than") {
		t.Errorf("a newer journal: %v, want a refusal", err)
	}
}

func TestJournalQuitSent(t *testing.T) {
	old, nw := Master{PID: 10, StartTicks: 1}, Master{PID: 20, StartTicks: 2}
	for _, tc := range []struct {
		name string
		sigs []Signal
		want int
	}{
		{"none", nil, 0},
		{"quit sent", []Signal{{Signal: "SIGQUIT", PID: 10, StartTicks: 1, Result: "sent"}}, 10},
		{"killed while sending", []Signal{{Signal: "SIGQUIT", PID: 10, StartTicks: 1, Result: "sending"}}, 10},
		{"refused", []Signal{{Signal: "SIGQUIT", PID: 10, StartTicks: 1, Result: "refused"}}, 0},
		{"to the new master (a rollback)", []Signal{{Signal: "SIGQUIT", PID: 20, StartTicks: 2, Result: "sent"}}, 0},
		{"a recycled pid", []Signal{{Signal: "SIGQUIT", PID: 10, StartTicks: 9, Result: "sent"}}, 0},
	} {
		j := &Journal{Old: &old, New: &nw, Signals: tc.sigs}
		if got := j.QuitSent(); got != tc.want {
			t.Errorf("%s: QuitSent = %d, want %d", tc.name, got, tc.want)
		}
	}
	var none *Journal
	if none.QuitSent() != 0 || none.SentTo("SIGUSR2", &old) || none.Ended() {
		t.Errorf("a nil journal knows something")
	}
}

// TestSessionKeepsTheJournalAfterTheLock: a session records an upgrade; ending it releases the
// lock but leaves the journal, which the next session reads; Track replaces a journal whose
// old master is another.
func TestSessionKeepsTheJournalAfterTheLock(t *testing.T) {
	dirs := Dirs{Runtime: filepath.Join(t.TempDir(), "run"), State: filepath.Join(t.TempDir(), "state")}
	pidFile := filepath.Join(t.TempDir(), "nginx.pid")
	s, err := Begin(dirs, pidFile, "upgrade")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Begin(dirs, pidFile+".oldbin", "rollback"); !IsHeld(err) {
		t.Fatalf("a second session by the .oldbin name: %v, want held", err)
	}
	old := Master{PID: 42, StartTicks: 7}
	if err := s.Track(old, pidFile, "/usr/sbin/nginx", nil); err != nil {
		t.Fatal(err)
	}
	i, _ := s.Sending(Signal{Signal: "SIGQUIT", PID: 42, StartTicks: 7})
	if err := s.Sent(i, "sent", ""); err != nil {
		t.Fatal(err)
	}
	s.End()
	s2, err := Begin(dirs, pidFile, "resume")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.End()
	j := s2.Journal()
	if j == nil || j.QuitSent() != 42 || j.Driver.Command != "upgrade" {
		t.Fatalf("journal after the first driver: %+v", j)
	}
	if err := s2.Track(old, pidFile, "/usr/sbin/nginx", nil); err != nil || len(s2.Journal().Signals) != 1 {
		t.Errorf("Track of the same old master started afresh: %v %+v", err, s2.Journal())
	}
	if err := s2.Track(Master{PID: 43, StartTicks: 8}, pidFile, "/usr/sbin/nginx", nil); err != nil || len(s2.Journal().Signals) != 0 {
		t.Errorf("Track of another old master kept the old journal: %v %+v", err, s2.Journal())
	}
}
