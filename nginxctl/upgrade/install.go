package upgrade

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hotdeploy/hotdeploy/model"
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

// staged is a candidate copied once into a temporary file beside the binary it will replace.
// Every check runs on this copy and this copy is renamed into place: the candidate path is
// never opened again, so a file swapped there after the checks never gets installed.
type staged struct {
	path   string // the temporary file, in the target's directory
	target string // the file the rename replaces
	sha256 string
}

// stage copies candidate beside binary's target with binary's mode (0755 when there is none).
func stage(candidate, binary string) (*staged, error) {
	target := writeTarget(binary)
	mode := os.FileMode(0o755)
	if st, err := os.Stat(target); err == nil {
		mode = st.Mode().Perm()
	}
	path, sum, err := copyToTemp(candidate, target, mode)
	if err != nil {
		return nil, model.Because("copy %s beside %s: %w", candidate, target, err).Err()
	}
	return &staged{path: path, target: target, sha256: sum}, nil
}

// discard removes the staged copy unless it was installed.
func (s *staged) discard() {
	if s != nil && s.path != "" {
		os.Remove(s.path)
	}
}

// install renames the staged copy over the target and syncs the directory, so the rename
// survives a crash.
func (s *staged) install() error {
	if err := os.Rename(s.path, s.target); err != nil {
		return model.Because("rename %s to %s: %w", s.path, s.target, err).Err()
	}
	s.path = ""
	return syncDir(filepath.Dir(s.target))
}

// backUp copies the binary the master runs (through /proc/PID/exe, which stays readable when the
// file was already replaced) to <binary>.old. An existing <binary>.old holding another build is
// first kept as <binary>.old.<sha12>: no backup that is the only copy of a build is overwritten.
// It returns the backup, its sha256, and where an earlier backup was kept ("" when none).
func backUp(masterPID int, binary string) (backup, sum, kept string, err error) {
	backup = backupPath(binary)
	running := fmt.Sprintf("/proc/%d/exe", masterPID)
	runSHA, err := inspect.FileSHA256(running)
	if err != nil {
		return backup, "", "", model.Because("read the running binary of master %d: %w", masterPID, err).Err()
	}
	if oldSHA, err := inspect.FileSHA256(backup); err == nil && oldSHA == runSHA {
		return backup, runSHA, "", nil // already the backup of this build
	}
	if kept, err = keepAside(backup); err != nil {
		return backup, "", "", err
	}
	mode := os.FileMode(0o755)
	if st, err := os.Stat(writeTarget(binary)); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, sum, err := copyToTemp(running, backup, mode)
	if err == nil {
		if err = os.Rename(tmp, backup); err == nil {
			err = syncDir(filepath.Dir(backup))
		} else {
			os.Remove(tmp)
		}
	}
	if err != nil {
		return backup, "", kept, model.Because("back up the running binary to %s: %w", backup, err).Err()
	}
	return backup, sum, kept, nil
}

// keepAside renames an existing file at path to path.<sha12 of its content>, unless a file of
// that name holds those bytes already (then path may go). It returns the name kept ("" when
// path did not exist).
func keepAside(path string) (string, error) {
	sum, err := inspect.FileSHA256(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", model.Because("read %s before keeping it: %w", path, err).Err()
	}
	kept := path + "." + sum[:12]
	if have, err := inspect.FileSHA256(kept); err == nil && have == sum {
		return kept, nil
	}
	if err := os.Rename(path, kept); err != nil {
		return "", model.Because("keep %s as %s: %w", path, kept, err).Err()
	}
	return kept, syncDir(filepath.Dir(path))
}

// restoreBinary puts the binary the master runs back at binary, unless it is already there,
// copying it from `from` (its backup, or /proc/PID/exe) and checking the copy has the sha256
// want. The file it replaces is kept as <binary>.rejected (an earlier .rejected with another
// build is first kept as .rejected.<sha12>), whose path it returns ("" when no file was there).
func restoreBinary(masterPID int, binary, from, want string) (restored bool, kept string, err error) {
	same, err := inspect.BinaryIsRunning(masterPID, binary)
	if err != nil || same {
		return false, "", err
	}
	target := writeTarget(binary)
	mode := os.FileMode(0o755)
	if st, err := os.Stat(target); err == nil {
		mode = st.Mode().Perm()
		kept = rejectedPath(binary)
		if sumT, errT := inspect.FileSHA256(target); errT == nil {
			if sumK, errK := inspect.FileSHA256(kept); errK == nil && sumK != sumT {
				if _, err := keepAside(kept); err != nil {
					return false, "", err
				}
			}
		}
		if err := os.Remove(kept); err != nil && !os.IsNotExist(err) {
			return false, "", model.Because("make room for %s: %w", kept, err).Err()
		}
		if err := os.Link(target, kept); err != nil {
			return false, "", model.Because("keep %s as %s before restoring: %w", target, kept, err).Err()
		}
	}
	tmp, sum, err := copyToTemp(from, target, mode)
	if err == nil && want != "" && sum != want {
		os.Remove(tmp)
		err = model.Because("%s changed while it was copied (sha256 %.12s, want %.12s)", from, sum, want).Err()
	}
	if err == nil {
		if err = os.Rename(tmp, target); err != nil {
			os.Remove(tmp)
		} else {
			err = syncDir(filepath.Dir(target))
		}
	}
	if err != nil && moveBackupBack(masterPID, binary, target) {
		return true, kept, nil
	}
	if err != nil {
		return false, kept, model.Because("restore %s from master %d: %w", binary, masterPID, err).Err()
	}
	return true, kept, nil
}

// moveBackupBack renames <binary>.old over target when it holds the very bytes master runs: a
// restore whose copy failed (a full disk: the install took the last room) still puts the old
// build back, since a rename needs no space. The build stays on disk, at the binary's path.
func moveBackupBack(masterPID int, binary, target string) bool {
	backup := backupPath(binary)
	runSHA, err := inspect.FileSHA256(fmt.Sprintf("/proc/%d/exe", masterPID))
	if err != nil {
		return false
	}
	if sum, err := inspect.FileSHA256(backup); err != nil || sum != runSHA {
		return false
	}
	if err := os.Rename(backup, target); err != nil {
		return false
	}
	return syncDir(filepath.Dir(target)) == nil
}

// copyToTemp copies src into a new temporary file in dst's directory, synced, with mode, and
// returns its path and the sha256 of what it wrote. Copying over a running binary would fail
// with ETXTBSY, and a half-written file must never be exec'd: the caller renames it.
func copyToTemp(src, dst string, mode os.FileMode) (string, string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", "", err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".hotdeploy-*")
	if err != nil {
		return "", "", err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), in); err != nil {
		return "", "", err
	}
	if err := tmp.Chmod(mode); err != nil {
		return "", "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", "", err
	}
	if err := tmp.Close(); err != nil {
		return "", "", err
	}
	ok = true
	return tmp.Name(), hex.EncodeToString(h.Sum(nil)), nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return model.Because("sync %s: %w", dir, err).Err()
	}
	return nil
}
