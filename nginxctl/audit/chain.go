package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// head is the side file (<log>.head): the hash and seq of the last line written, and which
// file it was written to. Removing the last lines or truncating the log leaves the head
// pointing past the end, which Verify reports; an empty log on another inode than the head
// names is a logrotate "create", and its first line continues the chain.
type head struct {
	Hash string `json:"head"`
	Seq  uint64 `json:"seq"`
	Dev  uint64 `json:"dev"`
	Ino  uint64 `json:"ino"`
}

// HeadPath is the side file kept next to the log at path.
func HeadPath(path string) string { return path + ".head" }

// hashLine is the chain hash: sha256 of a line's bytes without its newline.
func hashLine(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// chainFields are the fields of a line that Record and Verify reason about.
type chainFields struct {
	Seq         uint64 `json:"seq"`
	Prev        string `json:"prev"`
	RotatedFrom string `json:"rotated_from"`
}

func peekChain(line []byte) (chainFields, bool) {
	var c chainFields
	if err := json.Unmarshal(line, &c); err != nil {
		return c, false
	}
	return c, true
}

func readHead(path string) (*head, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var h head
	if err := json.Unmarshal(raw, &h); err != nil || len(h.Hash) != sha256.Size*2 {
		return nil, fmt.Errorf("head file %s is damaged: %q", path, raw)
	}
	return &h, nil
}

// writeHead replaces the head file atomically (temp file, fsync, rename), so a crash leaves
// the old head or the new one, never half of one.
func writeHead(path string, h head) error {
	raw, _ := json.Marshal(h)
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("head file: %w", err)
	}
	_, err = tmp.Write(append(raw, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("head file %s not updated: %w", path, err)
	}
	return nil
}

// fileID is the locked file as it was when the lock was taken.
type fileID struct {
	Dev, Ino uint64
	Size     int64
}

// lockLog opens the log and takes an exclusive flock on it. If logrotate moved the file while
// we waited, the lock is on the old file: open the new one and lock again.
func lockLog(path string) (*os.File, *fileID, error) {
	for range 8 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, err
		}
		for {
			err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
			if err != unix.EINTR {
				break
			}
		}
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("lock: %w", err)
		}
		var held, now unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &held); err != nil {
			f.Close()
			return nil, nil, err
		}
		if unix.Stat(path, &now) == nil && now.Dev == held.Dev && now.Ino == held.Ino {
			return f, &fileID{Dev: uint64(held.Dev), Ino: held.Ino, Size: held.Size}, nil
		}
		f.Close() // moved away under us: the lock was on a file nobody appends to any more
	}
	return nil, nil, errors.New("the file keeps being replaced while waiting for its lock")
}

// appendChained appends e as one line under the flock, with seq, prev and rotated_from worked
// out from the head file and the file's last line, then moves the head file on. It returns
// the line appended; on an error nothing was appended.
func appendChained(path string, e *Entry) ([]byte, error) {
	f, st, err := lockLog(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() // closing drops the flock
	size := st.Size
	h, herr := readHead(HeadPath(path))
	if herr != nil && !errors.Is(herr, os.ErrNotExist) {
		h = nil // damaged: continue from the file itself; Verify reports the head file
	}
	var last []byte
	endsNL := true
	if size > 0 {
		if last, endsNL, err = lastLine(f, size); err != nil {
			return nil, fmt.Errorf("read its last line: %w", err)
		}
	}
	e.Prev, e.Seq, e.RotatedFrom = Genesis, 1, ""
	switch {
	case size == 0 && h != nil:
		// A logrotate "create" (another inode) names the old file's last line; the same inode
		// emptied is a truncation, left for Verify to see.
		e.Prev, e.Seq = h.Hash, h.Seq+1
		if h.Dev != st.Dev || h.Ino != st.Ino {
			e.RotatedFrom = h.Hash
		}
	case size > 0:
		lh := hashLine(last)
		c, parsed := peekChain(last)
		switch {
		case h != nil && lh == h.Hash:
			e.Prev, e.Seq = lh, h.Seq+1
		case h != nil && parsed && c.Prev == h.Hash && c.Seq == h.Seq+1:
			e.Prev, e.Seq = lh, c.Seq+1 // a writer stopped between the line and the head file
		case h != nil:
			e.Prev, e.Seq = h.Hash, h.Seq+1 // the end was cut or changed: keep the evidence
		case parsed && c.Seq > 0:
			e.Prev, e.Seq = lh, c.Seq+1
		default: // older lines without a chain: start it from them
			n, err := countLines(f)
			if err != nil {
				return nil, fmt.Errorf("count its lines: %w", err)
			}
			e.Prev, e.Seq = lh, n+1
		}
	}
	line, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, len(line)+2)
	if !endsNL {
		buf = append(buf, '\n') // end a cut-short line rather than glue ours to it
	}
	buf = append(append(buf, line...), '\n')
	if _, err := f.Write(buf); err != nil {
		_ = f.Truncate(size) // a half-written line would break the chain for everyone after
		return nil, err
	}
	if err := f.Sync(); err != nil {
		_ = f.Truncate(size)
		return nil, err
	}
	if err := writeHead(HeadPath(path), head{Hash: hashLine(line), Seq: e.Seq, Dev: st.Dev, Ino: st.Ino}); err != nil {
		// A nearly full disk takes the line but not a new head file: take the line back, so the
		// entry is either recorded whole or not at all and the caller knows which.
		_ = f.Truncate(size)
		_ = f.Sync()
		return nil, err
	}
	return line, nil
}

// lastLine reads the file's last line (without its newline) by reading back from the end, and
// says whether the file ends with a newline (it does not after a cut-short write).
func lastLine(f *os.File, size int64) ([]byte, bool, error) {
	one := make([]byte, 1)
	if _, err := f.ReadAt(one, size-1); err != nil {
		return nil, false, err
	}
	endsNL := one[0] == '\n'
	end := size
	if endsNL {
		end--
	}
	var tail []byte
	for off := end; off > 0; {
		n := min(int64(4096), off)
		off -= n
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
			return nil, false, err
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return append(buf[i+1:], tail...), endsNL, nil
		}
		tail = append(buf, tail...)
	}
	return tail, endsNL, nil
}

func countLines(f *os.File) (uint64, error) {
	var n uint64
	buf := make([]byte, 64*1024)
	var off int64
	for {
		k, err := f.ReadAt(buf, off)
		n += uint64(bytes.Count(buf[:k], []byte{'\n'}))
		off += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
