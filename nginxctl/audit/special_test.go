package audit

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestOpenRefusesSpecialFiles: an audit log path that names a FIFO, a directory or a device is
// refused at once, and the device keeps its mode (the chaos suite found a FIFO blocking the open
// for good and a device made 0600: as root, --audit-log /dev/null would have broken /dev/null).
func TestOpenRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	paths := []string{fifo, dir}
	dev := filepath.Join(dir, "zero")
	if os.Geteuid() == 0 {
		// A private node that reads as /dev/zero: never the host's.
		if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dev, 0o666); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, dev)
	}
	for _, p := range paths {
		done := make(chan error, 1)
		go func() {
			_, err := Open(p)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("Open(%s) accepted a file that is not regular", p)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Open(%s) blocked for 10 s", p) // the goroutine stays blocked: the test binary ends
		}
	}
	if os.Geteuid() == 0 {
		st, err := os.Stat(dev)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o666 {
			t.Errorf("the device's mode is %o after Open, want 0666 unchanged", st.Mode().Perm())
		}
	}
}
