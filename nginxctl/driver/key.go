package driver

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Key is the name of an instance for its lock and its journal: the canonical real path of the
// pid file its configuration names. The same instance gets the same key whether it was named
// by --pid, --pidfile or discovery, since all three end up at the pid file of its
// configuration. The directory is resolved, not the file: nginx renames nginx.pid to
// nginx.pid.oldbin on SIGUSR2, so the file may be missing mid-upgrade, and a .oldbin name is
// stripped so it never becomes a key of its own.
func Key(pidFile string) string {
	if pidFile == "" {
		return ""
	}
	p := strings.TrimSuffix(pidFile, ".oldbin")
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	dir, base := filepath.Split(filepath.Clean(p))
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return filepath.Join(dir, base)
}

// fileName turns a key into a file name: readable (the path with its slashes replaced) and
// unique (a hash of the whole key, so two paths that read alike never share a lock).
func fileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, strings.TrimPrefix(key, "/"))
	if len(safe) > 80 {
		safe = safe[len(safe)-80:]
	}
	return safe + "-" + hex.EncodeToString(sum[:6])
}

// LockPath is the lock file of the instance key in dir.
func LockPath(dir, key string) string { return filepath.Join(dir, fileName(key)+".lock") }

// JournalPath is the journal of the instance key in dir.
func JournalPath(dir, key string) string { return filepath.Join(dir, fileName(key)+".json") }

func ownerOf(st os.FileInfo) (int, bool) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid), true
	}
	return 0, false
}
