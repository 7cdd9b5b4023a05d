//go:build amd64 || arm64 || riscv64 || ppc64le || s390x || loong64

package proc

import (
	"syscall"
	"unsafe"
)

// rawPread is pread(2) made without entering the Go scheduler's system-call state. A read of
// /proc/PID/stat, schedstat or children formats a few fields of the kernel's task and takes no
// lock that can sleep for long (unlike cmdline, which takes the process's memory-map lock), so
// it returns in microseconds. Made the usual way, the first such call after an idle spell wakes
// the runtime's monitor thread, which then polls every 20 µs while the dashboard works; on a
// virtual machine each of those wake-ups costs more than the read. A refresh that finds nothing
// changed is only these reads, and so costs no wake-up beyond its timer's.
func rawPread(fd int, b []byte, off int64) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall6(syscall.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(off), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
