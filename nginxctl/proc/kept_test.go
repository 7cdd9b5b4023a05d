package proc

import (
	"errors"
	"io"
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

func TestParseSched(t *testing.T) {
	for _, c := range []struct {
		in    string
		want  Sched
		known bool
		bad   bool
	}{
		{"1234567 89 42\n", Sched{RunNS: 1234567, Slices: 42}, true, false},
		{"0 0 0\n", Sched{}, false, false}, // a kernel without scheduler statistics
		{"12 34\n", Sched{}, false, true},
		{"x 1 2\n", Sched{}, false, true},
	} {
		got, err := parseSched([]byte(c.in))
		if (err != nil) != c.bad || got != c.want || got.Known() != c.known {
			t.Errorf("parseSched(%q) = %+v, %v (known %v); want %+v, bad %v, known %v", c.in, got, err, got.Known(), c.want, c.bad, c.known)
		}
	}
}

// The kept schedstat of a live process stays put while it sleeps and moves when it runs: cat,
// blocked on its input, is woken by a line, and has run once it echoed it.
func TestKeptSchedMovesWhenTheProcessRuns(t *testing.T) {
	cmd := exec.Command("cat")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); _ = cmd.Wait() }()
	echo := func() {
		if _, err := in.Write([]byte("x\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(out, make([]byte, 2)); err != nil {
			t.Fatal(err)
		}
	}
	echo() // cat is up and blocked on its next read
	r := NewKeepingReader()
	defer r.Close()
	a, err := r.Sched(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Known() {
		t.Skip("this kernel reports no scheduler statistics (zeros in schedstat): Still is never used here")
	}
	// cat still runs a moment after its echo, back to its read: wait until it is still.
	for i := 0; ; i++ {
		time.Sleep(20 * time.Millisecond)
		b, err := r.Sched(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if b == a {
			break
		}
		if i == 100 {
			t.Fatalf("schedstat of a cat blocked on its input never stopped moving: last %+v", b)
		}
		a = b
	}
	echo()
	b, err := r.Sched(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if b == a {
		t.Fatalf("schedstat did not move after cat ran: %+v", a)
	}
}
