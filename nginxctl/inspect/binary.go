package inspect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// fileID identifies the content of a file cheaply: a replaced file gets a new inode, an
// overwritten one a new size or mtime.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

func statID(path string) (fileID, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fileID{}, err
	}
	return idOf(&st), nil
}

// idOf is the fileID of a stat result.
func idOf(st *syscall.Stat_t) fileID {
	return fileID{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim.Nano()}
}

// sameFile tells whether two ids name the same inode.
func (f fileID) sameFile(g fileID) bool { return f.dev == g.dev && f.ino == g.ino }

// buildInfo is what `nginx -V` says about a binary.
type buildInfo struct {
	version  string // "nginx/1.22.1"
	prefix   string
	conf     string
	pid      string
	errorLog string
}

// parseBuildInfo reads the output of `nginx -V` (Angie and the other forks print the same
// shape).
func parseBuildInfo(out string) buildInfo {
	var bi buildInfo
	for _, line := range strings.Split(out, "\n") {
		if _, v, ok := strings.Cut(line, " version: "); ok && bi.version == "" {
			bi.version, _, _ = strings.Cut(strings.TrimSpace(v), " ")
		}
		if !strings.HasPrefix(line, "configure arguments:") {
			continue
		}
		for _, w := range strings.Fields(line) {
			k, v, ok := strings.Cut(w, "=")
			if !ok {
				continue
			}
			switch k {
			case "--prefix":
				bi.prefix = v
			case "--conf-path":
				bi.conf = v
			case "--pid-path":
				bi.pid = v
			case "--error-log-path":
				bi.errorLog = v
			}
		}
	}
	return bi
}

// binaryCache learns about a binary once per file content: its `-V` output (running it is
// the only reliable way to learn its version and compiled-in paths) and its sha256. A refresh
// must never exec or hash anything twice.
type binaryCache struct {
	builds  perFile[buildInfo]
	digests perFile[string]
}

// info returns the build info of the binary at path (which may be /proc/PID/exe).
func (c *binaryCache) info(path string) (buildInfo, error) {
	id, err := statID(path)
	if err != nil {
		return buildInfo{}, err
	}
	return c.builds.get(id, path, runVersion)
}

// infoOf and digestOf take a file already stat'ed, so a refresh does not stat it again.
func (c *binaryCache) infoOf(id fileID, path string) (buildInfo, error) {
	return c.builds.get(id, path, runVersion)
}

func (c *binaryCache) digestOf(id fileID, path string) (string, error) {
	return c.digests.get(id, path, FileSHA256)
}

// perFile memoizes one value per file content (fileID).
type perFile[V any] struct {
	mu sync.Mutex
	m  map[fileID]V
}

// get returns the value for the file content id, computing it from path the first time.
func (c *perFile[V]) get(id fileID, path string, compute func(string) (V, error)) (V, error) {
	c.mu.Lock()
	v, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := compute(path)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[fileID]V{}
	}
	c.m[id] = v
	c.mu.Unlock()
	return v, nil
}

// runVersion runs `binary -V` and parses what it prints.
func runVersion(path string) (buildInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "-V")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return buildInfo{}, fmt.Errorf("%s -V: %w: %s", path, err, FirstLine(out.String()))
	}
	return parseBuildInfo(out.String()), nil
}

// FirstLine is s up to its first line break, trimmed: the line to quote from a command's output.
func FirstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// CheckExecutable says why path cannot be a candidate nginx binary: it must exist, be a regular
// file, be executable and be an ELF file (a shell script wrapper is refused: it could do anything
// when nginx execs it).
func CheckExecutable(path string) error {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return model.Because("candidate %s: %w", path, err).Err()
	case st.IsDir():
		return model.Because("candidate %s is a directory, not a binary", path).Err()
	case !st.Mode().IsRegular():
		return model.Because("candidate %s is not a regular file", path).Err()
	case st.Mode().Perm()&0o111 == 0:
		return model.Because("candidate %s is not executable (chmod +x it)", path).Err()
	}
	f, err := elf.Open(path)
	if err != nil {
		return model.Because("candidate %s is not an ELF executable: %v", path, err).Err()
	}
	return f.Close()
}

// FileSHA256 returns the hex sha256 of the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// BinaryIsRunning tells whether the file at binary is the one the master runs: the same inode,
// or the same bytes. A restore has to copy (the replaced inode cannot be linked back), so after
// a rollback the inodes differ while the content is the old binary's.
func BinaryIsRunning(masterPID int, binary string) (bool, error) {
	exe := fmt.Sprintf("/proc/%d/exe", masterPID)
	running, err := statID(exe)
	if err != nil {
		return false, fmt.Errorf("read the binary of master %d: %w", masterPID, err)
	}
	onDisk, err := statID(binary)
	switch {
	case err != nil:
		return false, nil // nothing there: restoring puts it back
	case onDisk.sameFile(running):
		return true, nil
	case onDisk.size != running.size:
		return false, nil
	}
	a, err := FileSHA256(exe)
	if err != nil {
		return false, fmt.Errorf("read the binary of master %d: %w", masterPID, err)
	}
	b, err := FileSHA256(binary)
	return err == nil && a == b, nil
}
