package inspect

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// logFile is an error log the test appends to, truncates and replaces.
type logFile struct {
	t    *testing.T
	path string
}

func (l logFile) append(s string) {
	l.t.Helper()
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		l.t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		l.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		l.t.Fatal(err)
	}
}

func readLines(t *testing.T, tail *LogTail, want ...string) {
	t.Helper()
	got, err := tail.Read()
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(got) != len(want) || len(got) > 0 && !reflect.DeepEqual(got, want) {
		t.Fatalf("Read = %q, want %q", got, want)
	}
}

func TestLogTailIncremental(t *testing.T) {
	l := logFile{t, filepath.Join(t.TempDir(), "error.log")}
	l.append("2026/11/21 10:00:00 [notice] 1#1: start\n2026/11/21 10:00:01 [emerg] 1#1: bad\n")
	tail := NewLogTail(l.path)
	readLines(t, tail, "2026/11/21 10:00:00 [notice] 1#1: start", "2026/11/21 10:00:01 [emerg] 1#1: bad")
	readLines(t, tail) // nothing new

	l.append("one\ntw")
	readLines(t, tail, "one") // a half-written line waits for its end
	l.append("o")
	readLines(t, tail)
	l.append("\nthree\n\nfour\n")
	readLines(t, tail, "two", "three", "", "four")
	readLines(t, tail)
}

func TestLogTailEmptyThenGrowing(t *testing.T) {
	l := logFile{t, filepath.Join(t.TempDir(), "error.log")}
	l.append("")
	tail := NewLogTail(l.path)
	readLines(t, tail)
	l.append("first\n")
	readLines(t, tail, "first")
}

func TestLogTailTruncatedOrReplaced(t *testing.T) {
	dir := t.TempDir()
	l := logFile{t, filepath.Join(dir, "error.log")}
	l.append("old 1\nold 2\nold 3\n")
	tail := NewLogTail(l.path)
	readLines(t, tail, "old 1", "old 2", "old 3")

	// Truncated in place (copytruncate): read again from the start.
	if err := os.Truncate(l.path, 0); err != nil {
		t.Fatal(err)
	}
	l.append("new 1\n")
	readLines(t, tail, "new 1")

	// Rotated: a shorter file now has the name.
	if err := os.Rename(l.path, filepath.Join(dir, "error.log.1")); err != nil {
		t.Fatal(err)
	}
	l.append("r\n")
	readLines(t, tail, "r")
	l.append("s\n")
	readLines(t, tail, "s")

	// Rotated to a new file no shorter than what was read: another file, read from its start.
	if err := os.Rename(l.path, filepath.Join(dir, "error.log.2")); err != nil {
		t.Fatal(err)
	}
	l.append("longer than before\n")
	readLines(t, tail, "longer than before")
	readLines(t, tail)

	if err := os.Remove(l.path); err != nil {
		t.Fatal(err)
	}
	if _, err := tail.Read(); !os.IsNotExist(err) {
		t.Errorf("Read of a removed log: err %v, want not exist", err)
	}
}

func TestLogTailLargeFileStartsAtLineBoundary(t *testing.T) {
	// The first read looks at the last tailWindow bytes and keeps only whole lines, whether the
	// window starts mid-line (100-byte lines) or exactly at a line start (64-byte lines).
	for _, width := range []int{100, 64} {
		t.Run(fmt.Sprintf("%d-byte lines", width), func(t *testing.T) {
			l := logFile{t, filepath.Join(t.TempDir(), "error.log")}
			var b strings.Builder
			n := 2 * tailWindow / width
			for i := 0; i < n; i++ {
				fmt.Fprintf(&b, "%-*s\n", width-1, fmt.Sprintf("line %05d", i))
			}
			l.append(b.String())
			got, err := NewLogTail(l.path).Read()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tailWindow/width {
				t.Fatalf("first read of a large log: %d lines, want the %d whole lines of the window", len(got), tailWindow/width)
			}
			for i, line := range got {
				want := fmt.Sprintf("%-*s", width-1, fmt.Sprintf("line %05d", n-len(got)+i))
				if line != want {
					t.Fatalf("line %d of the tail is %q, want %q", i, line, want)
				}
			}
		})
	}
}

func TestTailFile(t *testing.T) {
	l := logFile{t, filepath.Join(t.TempDir(), "error.log")}
	l.append("a\nb\nc\n")
	if got := TailFile(l.path, 2); got != "b | c" {
		t.Errorf("TailFile = %q", got)
	}
	if got := TailFile(filepath.Join(t.TempDir(), "none"), 2); !strings.Contains(got, "no such file") {
		t.Errorf("TailFile of a missing file = %q, want the error", got)
	}
}

func TestLineSeverity(t *testing.T) {
	tests := map[string]Severity{
		"2026/11/21 10:00:00 [emerg] 1#1: bind() failed": SevCritical,
		"... [alert] 1#1: worker process exited":         SevCritical,
		"... [crit] 1#1: open() failed":                  SevCritical,
		"... [error] 7#7: *1 open() failed":              SevError,
		"... [warn] 1#1: conflicting server name":        SevWarn,
		"... [notice] 1#1: signal 12 (SIGUSR2) received": SevInfo,
		"": SevInfo,
	}
	for line, want := range tests {
		if got := LineSeverity(line); got != want {
			t.Errorf("LineSeverity(%q) = %d, want %d", line, got, want)
		}
	}
}
