package upgrade_test

import (
	"context"
	"testing"
)

// TestUpgradeTwiceInARow: after a commit the new master, now alone and no longer a session
// leader, upgrades again with the same runner and scanner: what the scanner learnt about it
// while it was an untitled new master must not stand in for its details.
func TestUpgradeTwiceInARow(t *testing.T) {
	rg := newRig(t, 2)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		in, sha := rg.upgradeTo()
		in, err := rg.runner.Drain(ctx, in, true)
		if err != nil {
			t.Fatalf("round %d: drain: %v", i, err)
		}
		if _, err = rg.runner.Commit(ctx, in); err != nil {
			t.Fatalf("round %d: commit: %v", i, err)
		}
		rg.origSHA = sha // the build now running is the next round's backup
	}
}
