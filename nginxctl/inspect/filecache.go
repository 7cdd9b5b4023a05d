package inspect

import (
	"os"
	"syscall"
	"time"
)

// pidFileRead is a pid file's content as last read, with what its stat said then.
type pidFileRead struct {
	key pidFileKey
	pid int
	at  time.Time
}

// pidFileKey is what any write or rename of a pid file changes: nginx truncates and rewrites it
// in place (mtime, size), or renames it to and from .oldbin (ctime, and the inode it names).
type pidFileKey struct {
	fileID
	ctime int64
}

// readPidFile is ReadPidFile for a refresh. A keeping scanner (the dashboard, four reads a
// second of the same two files) reads a file again only when its stat moved, or after
// fullReadEvery: a stat instead of an open, a read and a close. Other scanners, the upgrade
// runner's among them, read it every time. A rewrite in place that keeps the size and lands
// within the same file-time tick as the read before it (a few ms, on kernels without
// fine-grained timestamps) is seen fullReadEvery later at worst; nginx writes its pid file
// once per master.
func (s *Scanner) readPidFile(path string, now time.Time) (int, error) {
	if !s.r.Keeping() || path == "" {
		return ReadPidFile(path)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		delete(s.pidFiles, path)
		return 0, &os.PathError{Op: "stat", Path: path, Err: err} // what ReadPidFile's stat says
	}
	key := pidFileKey{idOf(&st), st.Ctim.Nano()}
	if r, ok := s.pidFiles[path]; ok && r.key == key && now.Sub(r.at) < fullReadEvery {
		return r.pid, nil
	}
	pid, err := ReadPidFile(path)
	if err != nil {
		delete(s.pidFiles, path)
		return 0, err
	}
	if s.pidFiles == nil {
		s.pidFiles = map[string]pidFileRead{}
	}
	s.pidFiles[path] = pidFileRead{key: key, pid: pid, at: now}
	return pid, nil
}

// statMemo stats each path once per refresh: the running binary and the file on disk are
// compared for the instance and again for its master.
type statMemo map[string]statResult

type statResult struct {
	id  fileID
	err error
}

func (m statMemo) stat(path string) (fileID, error) {
	if r, ok := m[path]; ok {
		return r.id, r.err
	}
	id, err := statID(path)
	m[path] = statResult{id, err}
	return id, err
}
