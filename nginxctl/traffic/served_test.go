package traffic_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

func servedWorker(pid, ppid int) model.Process {
	return model.Process{PID: pid, PPID: ppid, Role: model.RoleWorker}
}

// During an upgrade: master 100 (workers 101, 102, cache manager 103), new master 200
// (workers 201, 202).
func servedInstance() model.Instance {
	return model.Instance{Masters: []model.Master{
		{Process: model.Process{PID: 100, Role: model.RoleMaster},
			Children: []model.Process{servedWorker(101, 100), servedWorker(102, 100), {PID: 103, PPID: 100, Role: model.RoleCacheManager}}},
		{Process: model.Process{PID: 200, PPID: 100, Role: model.RoleMaster},
			Children: []model.Process{servedWorker(201, 200), servedWorker(202, 200)}},
	}}
}

func TestServedBy(t *testing.T) {
	stats := traffic.ProbeStats{ByWorker: map[int]int64{101: 5, 102: 7, 201: 11, 202: 13, 999: 17, 103: 19}}
	for _, c := range []struct {
		name          string
		in            model.Instance
		old, nw, unkn int64
	}{
		{"both masters", servedInstance(), 12, 24, 36},
		{"old master alone", model.Instance{Masters: servedInstance().Masters[:1]}, 12, 0, 60},
		{"after the commit", model.Instance{Masters: []model.Master{servedInstance().Masters[1]}}, 24, 0, 48},
		{"no instance", model.Instance{}, 0, 0, 72},
	} {
		o, n, u := traffic.ServedBy(stats, c.in)
		if o != c.old || n != c.nw || u != c.unkn {
			t.Errorf("%s: old %d new %d unknown %d, want %d %d %d", c.name, o, n, u, c.old, c.nw, c.unkn)
		}
	}
}

// WorkerOwners keeps the generation of workers that have exited.
func TestWorkerOwnersRemembers(t *testing.T) {
	w := traffic.WorkerOwners{}
	w.Observe(servedInstance())
	w.Observe(model.Instance{Masters: []model.Master{servedInstance().Masters[1]}}) // after the commit
	stats := traffic.ProbeStats{ByWorker: map[int]int64{101: 5, 102: 7, 201: 11, 202: 13, 999: 17}}
	got := w.ServedBy(stats)
	want := map[int]int64{100: 12, 200: 24, 0: 17}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("master %d: %d, want %d", k, got[k], v)
		}
	}
	if _, ok := w[103]; ok {
		t.Error("a cache manager is not a worker")
	}
}

func TestProbeSummary(t *testing.T) {
	s := traffic.ProbeStats{URL: "http://127.0.0.1:8080/", OK: 12, Failed: 3,
		Failures: map[string]int64{traffic.FailRefused: 2, traffic.FailTimeout: 1},
		P50:      1234 * time.Microsecond, P99: 5 * time.Millisecond,
		ByWorker: map[int]int64{202: 4, 101: 8}, LastError: "connection to 127.0.0.1:8080 refused"}
	got := traffic.ProbeSummary(s)
	for _, want := range []string{"12 ok, 3 failed (2 refused, 1 timeout)", "p50 1.23ms, p99 5ms", "101×8 202×4", "last failure: connection"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary %q lacks %q", got, want)
		}
	}
}
