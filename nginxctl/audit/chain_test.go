package audit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

func TestChainFreshLog(t *testing.T) {
	l := openTest(t, "")
	record(t, l, 3)
	lines := readLines(t, l.Path())
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3", len(lines))
	}
	prev := Genesis
	for i, line := range lines {
		var e Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if e.Prev != prev || e.Seq != uint64(i+1) {
			t.Fatalf("line %d: prev %q seq %d, want prev %q seq %d", i+1, e.Prev, e.Seq, prev, i+1)
		}
		prev = hashLine([]byte(line))
	}
	h, err := readHead(HeadPath(l.Path()))
	if err != nil {
		t.Fatal(err)
	}
	if h.Hash != prev || h.Seq != 3 {
		t.Fatalf("head = %+v, want hash %s seq 3", h, prev)
	}
	fi, err := os.Stat(HeadPath(l.Path()))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("head file mode %v (%v), want 0600", fi.Mode(), err)
	}
	wantIntact(t, mustVerify(t, l.Path()))
}

// Goroutines appending through one Log and through Logs of their own (as the dashboard and a
// headless run in one process would) keep one chain.
func TestConcurrentAppendsGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	shared := openTest(t, path)
	var wg sync.WaitGroup
	for g := range 8 {
		l := shared
		if g%2 == 1 {
			l = openTest(t, path)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if err := l.Record(Entry{Instance: "x", Action: "winch", Result: "sent"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	r := mustVerify(t, path)
	wantIntact(t, r)
	if r.Lines != 200 || r.FirstSeq != 1 || r.LastSeq != 200 {
		t.Fatalf("lines %d seq %d-%d, want 200 lines seq 1-200", r.Lines, r.FirstSeq, r.LastSeq)
	}
}

// Several hotdeploy processes share one log: child processes and this one append at once.
func TestConcurrentAppendsProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	const procs, each = 4, 25
	errs := make(chan error, procs)
	for range procs {
		cmd := helperCmd("append", "HOTDEPLOY_AUDIT_LOG="+path, "HOTDEPLOY_AUDIT_N="+strconv.Itoa(each))
		go func() {
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("child: %v: %s", err, out)
			}
			errs <- err
		}()
	}
	record(t, l, each)
	for range procs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	r := mustVerify(t, path)
	wantIntact(t, r)
	if want := (procs + 1) * each; r.Lines != want || r.LastSeq != uint64(want) {
		t.Fatalf("lines %d last seq %d, want %d", r.Lines, r.LastSeq, want)
	}
	pids := map[int]bool{}
	entries, err := ReadEntries(path, zeroTime)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pids[e.PID] = true
	}
	if len(pids) < procs {
		t.Fatalf("entries from %d distinct pids, want at least %d children", len(pids), procs)
	}
}

// A writer that stopped between its line and the head file leaves the head one line behind:
// that is not tampering, and the next Record carries on from the line.
func TestHeadLagIsRepaired(t *testing.T) {
	l := openTest(t, "")
	record(t, l, 2)
	h, err := readHead(HeadPath(l.Path()))
	if err != nil {
		t.Fatal(err)
	}
	saved := *h
	record(t, l, 1)
	if err := writeHead(HeadPath(l.Path()), saved); err != nil { // as if it stopped before this
		t.Fatal(err)
	}
	r := mustVerify(t, l.Path())
	wantIntact(t, r)
	if len(r.Findings) != 1 || r.Findings[0].Line != 3 {
		t.Fatalf("findings %+v, want one note on line 3 about the lag", r.Findings)
	}
	record(t, l, 1)
	r = mustVerify(t, l.Path())
	wantIntact(t, r)
	if r.LastSeq != 4 || len(r.Findings) != 0 {
		t.Fatalf("after the next record: seq %d findings %+v, want seq 4 and no findings", r.LastSeq, r.Findings)
	}
}

// A line cut short (a crash mid-write, or a cut in the file) is ended, not glued to the next
// entry, and Verify names it.
func TestRecordAfterCutShortLine(t *testing.T) {
	l := openTest(t, "")
	record(t, l, 2)
	f, err := os.OpenFile(l.Path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":"2025-01-01T00:00:00Z","user":"ro`)
	f.Close()
	record(t, l, 1)
	lines := readLines(t, l.Path())
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4 (2, the fragment, 1)", len(lines))
	}
	var e Entry
	if err := json.Unmarshal([]byte(lines[3]), &e); err != nil {
		t.Fatalf("the entry after the fragment is not whole: %v", err)
	}
	wantBroken(t, mustVerify(t, l.Path()), 3, "not a JSON entry")
}
