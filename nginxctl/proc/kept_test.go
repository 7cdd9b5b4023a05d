package proc

import (
	"errors"
	"io/fs"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A keeping Reader reads a live process through its kept files, sees what an exec changes
// (the same process, a new command line), and once the process exited answers "gone", never
// what the process said before.
func TestKeepingReaderFollowsOneProcess(t *testing.T) {
	cmd := exec.Command("/bin/bash", "-c", `read -r _ && exec sleep 30`)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	r := NewKeepingReader()
	defer r.Close()
	st, err := r.Stat(pid)
	if err != nil || st.Comm != "bash" {
		t.Fatalf("stat of %d: %+v %v", pid, st, err)
	}
	if title, err := r.Title(pid); err != nil || !strings.HasPrefix(title, "/bin/bash -c") {
		t.Fatalf("title of %d: %q %v", pid, title, err)
	}
	if len(r.kept) != 2 {
		t.Fatalf("%d files kept open, want stat and cmdline", len(r.kept))
	}
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	var title string
	for i := 0; i < 200 && !strings.HasPrefix(title, "sleep"); i++ {
		time.Sleep(10 * time.Millisecond)
		if title, err = r.Title(pid); err != nil {
			t.Fatal(err)
		}
	}
	if title != "sleep 30" {
		t.Fatalf("after its exec, the kept cmdline of %d reads %q, want sleep 30", pid, title)
	}
	if st, err := r.Stat(pid); err != nil || st.Comm != "sleep" {
		t.Fatalf("after its exec, the kept stat of %d reads %+v %v", pid, st, err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait() // reaped: the pid is free
	if st, err := r.Stat(pid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stat of exited %d: %+v %v, want it gone", pid, st, err)
	}
	if title, err := r.Title(pid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("title of exited %d: %q %v, want it gone", pid, title, err)
	}
	if len(r.kept) != 0 {
		t.Errorf("%d files of an exited process still kept", len(r.kept))
	}
}

// Sweep closes what was not read since the sweep before.
func TestSweepClosesFilesNoLongerRead(t *testing.T) {
	r := NewKeepingReader()
	defer r.Close()
	if _, err := r.Stat(1); err != nil {
		t.Skip("cannot read /proc/1/stat here")
	}
	r.Sweep()
	if len(r.kept) != 1 {
		t.Fatalf("a file read before the first sweep was closed by it")
	}
	r.Sweep()
	if len(r.kept) != 0 {
		t.Fatalf("a file not read for a whole sweep is still open")
	}
}
