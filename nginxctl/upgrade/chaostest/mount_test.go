package chaostest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// The suite runs in a mount namespace of its own (see TestMain), so these mounts are private to
// it; each is still unmounted when its test ends, failed or not.

// mountTmpfs mounts a tmpfs of size bytes on dir and unmounts it (lazily: a running nginx may
// still map its binary from it) when the test ends.
func mountTmpfs(t *testing.T, dir string, size int64) {
	t.Helper()
	if err := unix.Mount("chaos-tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { unmount(t, dir) })
}

// bindReadOnly bind-mounts dir on itself read-only (root ignores mode bits, not a read-only
// mount) and undoes it when the test ends.
func bindReadOnly(t *testing.T, dir string) {
	t.Helper()
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind-mount %s: %v", dir, err)
	}
	t.Cleanup(func() { unmount(t, dir) })
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		t.Fatalf("make the bind mount of %s read-only: %v", dir, err)
	}
}

func unmount(t *testing.T, dir string) {
	if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
		t.Errorf("unmount %s: %v", dir, err)
	}
}

// fill writes a file into dir's filesystem until only free bytes are left for others, and
// returns what is left (tmpfs counts in pages, so it is free rounded down to one).
func fill(t *testing.T, dir string, free int64) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := int64(st.Bavail) * st.Bsize
	if avail < free {
		t.Fatalf("%s has %d bytes free, fewer than the %d to leave", dir, avail, free)
	}
	f, err := os.Create(filepath.Join(dir, "chaos-filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for left := avail - free; left > 0; {
		n := min(left, int64(len(chunk)))
		if _, err := f.Write(chunk[:n]); err != nil {
			t.Fatalf("fill %s: %v", dir, err)
		}
		left -= n
	}
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}
