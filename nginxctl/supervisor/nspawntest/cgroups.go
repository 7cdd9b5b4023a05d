package nspawntest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// cgroupPrefix starts the name of every cgroup the harness makes, followed by the test
// binary's pid, so a later run can tell which ones a killed run left behind.
const cgroupPrefix = "hotdeploy-nspawn-"

// hierarchies lists the cgroup roots nspawn needs its own directory in. On a hybrid host
// (systemd's layout on many v1 machines, this one included) the container's systemd uses both
// the unified hierarchy and the name=systemd one.
func hierarchies() ([]string, error) {
	isV2 := func(p string) bool {
		var st syscall.Statfs_t
		return syscall.Statfs(p, &st) == nil && st.Type == 0x63677270 // CGROUP2_SUPER_MAGIC
	}
	switch {
	case isV2("/sys/fs/cgroup"):
		return []string{"/sys/fs/cgroup"}, nil
	case isV2("/sys/fs/cgroup/unified") && dirExists("/sys/fs/cgroup/systemd"):
		return []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"}, nil
	case dirExists("/sys/fs/cgroup/systemd"):
		return []string{"/sys/fs/cgroup/systemd"}, nil
	}
	return nil, errors.New("no cgroup hierarchy for systemd under /sys/fs/cgroup (neither cgroup2 nor name=systemd is mounted)")
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// makeCgroups creates the container's cgroup in each hierarchy.
func makeCgroups(name string) ([]string, error) {
	hs, err := hierarchies()
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, h := range hs {
		d := filepath.Join(h, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			removeCgroups(dirs)
			return nil, fmt.Errorf("create cgroup %s: %w", d, err)
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// removeCgroups removes the trees deepest first. A cgroup that still holds a process refuses
// (EBUSY), which is reported: something of the container still runs.
func removeCgroups(dirs []string) error {
	var errs []error
	for _, d := range dirs {
		var sub []string
		_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				sub = append(sub, p)
			}
			return nil
		})
		for i := len(sub) - 1; i >= 0; i-- {
			if err := os.Remove(sub[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", sub[i], err))
			}
		}
	}
	return errors.Join(errs...)
}

// removeStaleCgroups removes the cgroups of test binaries that no longer run: a run killed
// before its cleanup leaves them (its containers halt through the parent-death signal).
func removeStaleCgroups() {
	hs, _ := hierarchies()
	for _, h := range hs {
		entries, _ := os.ReadDir(h)
		for _, e := range entries {
			rest, ok := strings.CutPrefix(e.Name(), cgroupPrefix)
			if !ok || !e.IsDir() {
				continue
			}
			owner, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
			if err != nil || owner == os.Getpid() {
				continue
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", owner)); err == nil {
				continue // its run goes on
			}
			_ = removeCgroups([]string{filepath.Join(h, e.Name())})
		}
	}
}
