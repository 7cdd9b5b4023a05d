package nginxctl

import (
	"testing"
)

// startSandbox starts a real nginx in t.TempDir() and ends it when the test ends, even on failure.
func startSandbox(t *testing.T, opt SandboxOptions) *Sandbox {
	t.Helper()
	if opt.Dir == "" {
		opt.Dir = t.TempDir()
	}
	sb, err := StartSandbox(opt)
	if err != nil {
		t.Fatalf("start sandbox: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Stop(); err != nil {
			t.Errorf("stop sandbox: %v", err)
		}
	})
	return sb
}
