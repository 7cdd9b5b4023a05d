package proc

import (
	"os"
	"strconv"
	"syscall"
)

// maxKept bounds the files a keeping Reader holds open, well under the usual limit of 1,024
// descriptors; past it, files are opened for each read as usual.
const maxKept = 256

// keptKey names a kept file: a process and its file (stat, cmdline).
type keptKey struct {
	pid  int
	name string
}

// keptFile is an open /proc file and the sweep it was last read in.
type keptFile struct {
	fd    int
	sweep uint64
	raw   bool // read without telling the Go scheduler (rawPread)
}

// NewKeepingReader returns a Reader that keeps each process's stat, cmdline, schedstat and children open between
// reads and re-reads them from offset 0: a refresh of an instance reads the same few dozen files
// four times a second, and an open costs twice the read itself. An open /proc/PID file stays
// bound to the process it was opened for: once that one exited, a read fails (ESRCH), and the
// file is opened again by its path, which finds the pid's new process if it was reused, or none.
// So a kept file never answers for another process. Sweep closes what is no longer read.
func NewKeepingReader() *Reader {
	r := NewReader()
	r.kept = map[keptKey]*keptFile{}
	return r
}

// Keeping tells whether the Reader keeps files open.
func (r *Reader) Keeping() bool { return r.kept != nil }

// readKept is Read through the kept files.
func (r *Reader) readKept(pid int, name string) ([]byte, error) {
	if r.kept == nil {
		return r.Read(pid, name)
	}
	k := keptKey{pid, name}
	if f, ok := r.kept[k]; ok {
		if b, err := r.readAt(f.fd, f.raw); err == nil {
			f.sweep = r.sweeps
			return b, nil
		}
		syscall.Close(f.fd) // its process exited: the pid may name another one now
		delete(r.kept, k)
	}
	if len(r.kept) >= maxKept {
		return r.Read(pid, name)
	}
	r.setPath(pid, name)
	fd, err := syscall.Open(string(r.path), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: string(r.path), Err: err}
	}
	raw := name != "cmdline"
	b, err := r.readAt(fd, raw)
	if err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "read", Path: string(r.path), Err: err}
	}
	r.kept[k] = &keptFile{fd: fd, sweep: r.sweeps, raw: raw}
	return b, nil
}

// readAt reads a whole file from offset 0 into the buffer. /proc/PID/stat and cmdline hand
// over all they have up to the size asked, so a read shorter than the room left is the end of
// the file: the read that would return 0 is saved, half the calls of a refresh.
func (r *Reader) readAt(fd int, raw bool) ([]byte, error) {
	n := 0
	for {
		var m int
		var err error
		if raw {
			m, err = rawPread(fd, r.buf[n:], int64(n))
		} else {
			m, err = syscall.Pread(fd, r.buf[n:], int64(n))
		}
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 || m < len(r.buf)-n {
			return r.buf[:n+m], nil
		}
		n += m
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
	}
}

// Sweep closes the kept files not read since the previous Sweep.
func (r *Reader) Sweep() {
	for k, f := range r.kept {
		if f.sweep != r.sweeps {
			syscall.Close(f.fd)
			delete(r.kept, k)
		}
	}
	r.sweeps++
}

// Close closes every kept file.
func (r *Reader) Close() {
	for k, f := range r.kept {
		syscall.Close(f.fd)
		delete(r.kept, k)
	}
}

// setPath sets r.path to /proc/<pid>/<name>.
func (r *Reader) setPath(pid int, name string) {
	r.path = append(r.path[:0], "/proc/"...)
	r.path = strconv.AppendInt(r.path, int64(pid), 10)
	r.path = append(r.path, '/')
	r.path = append(r.path, name...)
}
