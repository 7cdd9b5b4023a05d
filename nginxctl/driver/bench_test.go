package driver

import (
	"path/filepath"
	"testing"
)

// BenchmarkSaveJournal is the cost of one journal write (temp file, fsync, rename, directory
// fsync): an upgrade makes about fifteen of them.
func BenchmarkSaveJournal(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "state")
	old := Master{PID: 1, StartTicks: 2}
	j := &Journal{Instance: "/run/bench-nginx.pid", Old: &old, Signals: make([]Signal, 4)}
	for b.Loop() {
		if err := SaveJournal(dir, j); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetStep is the cost of rewriting the lock file's holder at a step.
func BenchmarkSetStep(b *testing.B) {
	l, err := Acquire(b.TempDir(), "/run/bench-nginx.pid", "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Release()
	for b.Loop() {
		if err := l.SetStep("drain"); err != nil {
			b.Fatal(err)
		}
	}
}
