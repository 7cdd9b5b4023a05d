package upgrade

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hotdeploy/hotdeploy/nginxctl/audit"
	"github.com/hotdeploy/hotdeploy/nginxctl/inspect"
)

// backupPath is where the running binary is kept before an install.
func backupPath(binary string) string { return binary + ".old" }

// rejectedPath is where a restore keeps the file it replaces, so that a binary the operator put
// in place by hand is never lost.
func rejectedPath(binary string) string { return binary + ".rejected" }

// writeTarget is the file an install or a restore replaces: where a symlinked binary points, so
// the link stays a link.
func writeTarget(binary string) string {
	if t, err := filepath.EvalSymlinks(binary); err == nil {
		return t
	}
	return binary
}

// installBinary backs up the binary the master runs (read through /proc/PID/exe, which stays
// readable even when the file was already replaced) to <binary>.old, then puts candidate in
// place atomically: a temporary file in the same directory renamed over binary. Copying over a
// running binary would fail with ETXTBSY, and a half-written file must never be exec'd.
func installBinary(masterPID int, binary, candidate string) (audit.Install, error) {
	inst := audit.Install{Binary: binary, Backup: backupPath(binary)}
	mode := os.FileMode(0o755)
	if st, err := os.Stat(binary); err == nil {
		mode = st.Mode().Perm()
	}
	var err error
	running := fmt.Sprintf("/proc/%d/exe", masterPID)
	if inst.BackupSHA256, err = atomicCopy(running, inst.Backup, mode); err != nil {
		return inst, fmt.Errorf("back up the running binary to %s: %w", inst.Backup, err)
	}
	if inst.NewSHA256, err = atomicCopy(candidate, writeTarget(binary), mode); err != nil {
		return inst, fmt.Errorf("install %s as %s: %w", candidate, binary, err)
	}
	return inst, nil
}

// restoreBinary puts the binary the master runs back at binary, unless it is already there.
// The file it replaces is kept as <binary>.rejected, whose path it returns ("" when no file
// was there).
func restoreBinary(masterPID int, binary string) (restored bool, kept string, err error) {
	same, err := inspect.BinaryIsRunning(masterPID, binary)
	if err != nil || same {
		return false, "", err
	}
	target := writeTarget(binary)
	mode := os.FileMode(0o755)
	if st, err := os.Stat(target); err == nil {
		mode = st.Mode().Perm()
		kept = rejectedPath(binary)
		if err := os.Remove(kept); err != nil && !os.IsNotExist(err) {
			return false, "", fmt.Errorf("make room for %s: %w", kept, err)
		}
		if err := os.Link(target, kept); err != nil {
			return false, "", fmt.Errorf("keep %s as %s before restoring: %w", target, kept, err)
		}
	}
	if _, err := atomicCopy(fmt.Sprintf("/proc/%d/exe", masterPID), target, mode); err != nil {
		return false, kept, fmt.Errorf("restore %s from master %d: %w", binary, masterPID, err)
	}
	return true, kept, nil
}

// atomicCopy copies src to dst through a temporary file in dst's directory, synced before the
// rename, and returns the sha256 of what it wrote.
func atomicCopy(src, dst string, mode os.FileMode) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".hotdeploy-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), in); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
