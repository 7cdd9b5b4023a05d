//go:build !(amd64 || arm64 || riscv64 || ppc64le || s390x || loong64)

package proc

import "syscall"

// rawPread is syscall.Pread where the offset does not fit one register: see rawpread_64.go.
func rawPread(fd int, b []byte, off int64) (int, error) { return syscall.Pread(fd, b, off) }
