package audit

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// logWith makes a fresh log with n entries and returns its path and lines.
func logWith(t *testing.T, n int) (*Log, []string) {
	t.Helper()
	l := openTest(t, "")
	record(t, l, n)
	return l, readLines(t, l.Path())
}

func TestVerifyIntact(t *testing.T) {
	l, _ := logWith(t, 5)
	r := mustVerify(t, l.Path())
	wantIntact(t, r)
	var out bytes.Buffer
	if code := RunVerify(&out, l.Path()); code != 0 {
		t.Fatalf("exit %d, want 0: %s", code, out.String())
	}
	if !strings.Contains(out.String(), "intact, 5 lines, seq 1-5") {
		t.Fatalf("output %q", out.String())
	}
}

func TestVerifyChangedLine(t *testing.T) {
	l, lines := logWith(t, 6)
	lines[2] = strings.Replace(lines[2], `"result":"sent"`, `"result":"refused"`, 1)
	writeLines(t, l.Path(), lines)
	wantBroken(t, mustVerify(t, l.Path()), 3, "line 3 was changed")
	var out bytes.Buffer
	if code := RunVerify(&out, l.Path()); code != 1 || !strings.Contains(out.String(), "audit.log:3: BROKEN: line 3 was changed") {
		t.Fatalf("exit %d, output %q: want 1 naming line 3", code, out.String())
	}
}

func TestVerifyRemovedMiddleLine(t *testing.T) {
	l, lines := logWith(t, 6)
	writeLines(t, l.Path(), append(lines[:2:2], lines[3:]...))
	wantBroken(t, mustVerify(t, l.Path()), 3, "1 entry is missing before it (line 2 has seq 2, line 3 has seq 4)")
}

func TestVerifyRemovedLastLines(t *testing.T) {
	l, lines := logWith(t, 6)
	writeLines(t, l.Path(), lines[:4])
	wantBroken(t, mustVerify(t, l.Path()), 5, "the last 2 entries are missing")
	// the next entry continues from the head file, so the gap stays visible after it
	record(t, l, 1)
	wantBroken(t, mustVerify(t, l.Path()), 5, "line 5: 2 entries are missing before it (line 4 has seq 4, line 5 has seq 7)")
}

func TestVerifyChangedLastLine(t *testing.T) {
	l, lines := logWith(t, 3)
	lines[2] = strings.Replace(lines[2], `"result":"sent"`, `"result":"refused"`, 1)
	writeLines(t, l.Path(), lines)
	wantBroken(t, mustVerify(t, l.Path()), 3, "line 3, the last, was changed")
}

func TestVerifyTruncated(t *testing.T) {
	t.Run("to zero", func(t *testing.T) {
		l, _ := logWith(t, 4)
		if err := os.Truncate(l.Path(), 0); err != nil {
			t.Fatal(err)
		}
		wantBroken(t, mustVerify(t, l.Path()), 1, "the log was truncated")
		// The next entry does not wash the truncation away: it still points at the lost line.
		record(t, l, 1)
		wantBroken(t, mustVerify(t, l.Path()), 1, "truncated in place")
	})
	t.Run("mid-line", func(t *testing.T) {
		l, _ := logWith(t, 4)
		fi, _ := os.Stat(l.Path())
		if err := os.Truncate(l.Path(), fi.Size()*5/8); err != nil { // inside line 3
			t.Fatal(err)
		}
		wantBroken(t, mustVerify(t, l.Path()), 3, "cut short")
	})
	t.Run("log removed", func(t *testing.T) {
		l, _ := logWith(t, 2)
		os.Remove(l.Path())
		wantBroken(t, mustVerify(t, l.Path()), 0, "the log is gone")
	})
}

func TestVerifyMissingHeadFile(t *testing.T) {
	l, _ := logWith(t, 2)
	os.Remove(HeadPath(l.Path()))
	wantBroken(t, mustVerify(t, l.Path()), 0, "head file")
}

// logrotate with "create": the log moves to .1, a new empty file takes its place, and
// hotdeploy's next line names the last line of .1.
func TestVerifyAcrossRotation(t *testing.T) {
	l, old := logWith(t, 5)
	path := l.Path()
	rotate := func() {
		t.Helper()
		if err := os.Rename(path, path+".1"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rotate()
	r := mustVerify(t, path)
	wantIntact(t, r)
	if !strings.Contains(r.Findings[0].Text, "nothing appended since") {
		t.Fatalf("findings %+v", r.Findings)
	}
	record(t, l, 3)
	lines := readLines(t, path)
	first, _ := peekChain([]byte(lines[0]))
	if want := hashLine([]byte(old[4])); first.Prev != want || first.RotatedFrom != want || first.Seq != 6 {
		t.Fatalf("first line after rotation %+v, want prev and rotated_from %s, seq 6", first, want)
	}
	r = mustVerify(t, path)
	wantIntact(t, r)
	if r.FirstSeq != 6 || r.LastSeq != 8 || !strings.Contains(r.Findings[0].Text, "continues "+path+".1 (its last line, seq 5)") {
		t.Fatalf("seq %d-%d findings %+v", r.FirstSeq, r.LastSeq, r.Findings)
	}
	wantIntact(t, mustVerify(t, path+".1"))

	// compressed by logrotate: still found
	gzipFile(t, path+".1")
	r = mustVerify(t, path)
	wantIntact(t, r)
	if !strings.Contains(r.Findings[0].Text, ".1.gz") {
		t.Fatalf("findings %+v, want it to continue the .1.gz", r.Findings)
	}
	// logrotate ran twice before the next entry, rotating an empty file (its default ifempty):
	// the empty .1 is passed over and the chain continues from .2
	emptyFile := func() {
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.Rename(path+".1.gz", path+".2.gz")
	os.Rename(path, path+".1")
	emptyFile()
	os.Rename(path+".2.gz", path+".3.gz")
	os.Rename(path+".1", path+".2")
	os.Rename(path, path+".1")
	emptyFile()
	record(t, l, 1)
	r = mustVerify(t, path)
	wantIntact(t, r)
	if r.FirstSeq != 9 || !strings.Contains(r.Findings[0].Text, "continues "+path+".2 (its last line, seq 8)") {
		t.Fatalf("seq %d findings %+v", r.FirstSeq, r.Findings)
	}
	wantIntact(t, mustVerify(t, path+".2"))

	// the predecessor is gone: not broken, but said
	for _, name := range []string{".1", ".2", ".3.gz"} {
		os.Remove(path + name)
	}
	r = mustVerify(t, path)
	wantIntact(t, r)
	if !strings.Contains(r.Findings[0].Text, "not there to check") {
		t.Fatalf("findings %+v", r.Findings)
	}
}

func TestVerifyRotatedFileCutAtTheEnd(t *testing.T) {
	l, old := logWith(t, 5)
	os.Rename(l.Path(), l.Path()+".1")
	os.WriteFile(l.Path(), nil, 0o600)
	record(t, l, 1)
	writeLines(t, l.Path()+".1", old[:4]) // the last line of the old file removed
	wantBroken(t, mustVerify(t, l.Path()), 1, "the last lines of "+l.Path()+".1 were removed or changed")
}

// logrotate with copytruncate: the lines are copied to .1 and the file emptied in place.
func TestVerifyCopytruncate(t *testing.T) {
	l, old := logWith(t, 3)
	writeLines(t, l.Path()+".1", old)
	os.Truncate(l.Path(), 0)
	record(t, l, 2)
	r := mustVerify(t, l.Path())
	wantIntact(t, r)
	if r.FirstSeq != 4 {
		t.Fatalf("first seq %d, want 4", r.FirstSeq)
	}
}

// Lines written before the chain existed (the old format) are kept; the chain starts from them.
func TestVerifyLegacyLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	writeLines(t, path, []string{
		`{"time":"2025-01-01T10:00:00Z","user":"root","instance":"/run/nginx.pid","action":"usr2","signal":"SIGUSR2","pid":7,"result":"sent"}`,
		`{"time":"2025-01-01T10:00:01Z","user":"root","instance":"/run/nginx.pid","action":"winch","signal":"SIGWINCH","pid":7,"result":"sent"}`,
	})
	l := openTest(t, path)
	record(t, l, 2)
	r := mustVerify(t, path)
	wantIntact(t, r)
	if r.FirstSeq != 3 || !strings.Contains(r.Findings[0].Text, "lines 1-2 predate the hash chain") {
		t.Fatalf("first seq %d findings %+v", r.FirstSeq, r.Findings)
	}
}

func TestVerifyUnreadable(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if code := RunVerify(&out, filepath.Join(dir, "none.log")); code != 2 {
		t.Fatalf("missing log: exit %d, want 2: %s", code, out.String())
	}
	if code := RunVerify(&out, dir); code != 2 { // a directory
		t.Fatalf("directory: exit %d, want 2: %s", code, out.String())
	}
}

func gzipFile(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Write(raw)
	z.Close()
	if err := os.WriteFile(path+".gz", b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
}
