package ui

import (
	"testing"
	"time"
)

// Ticks come, one after another, until stopped; stop returns (the reading goroutine is woken
// by the close).
func TestTicksComeUntilStopped(t *testing.T) {
	tk, err := startTicks(20 * time.Millisecond)
	if err != nil {
		t.Fatalf("timerfd: %v", err)
	}
	deadline := time.After(10 * time.Second)
	for i := 0; i < 3; i++ {
		select {
		case <-tk.c:
		case <-deadline:
			t.Fatalf("tick %d of 3 did not come within 10 s at a 20 ms interval", i+1)
		}
	}
	tk.stop()
}
