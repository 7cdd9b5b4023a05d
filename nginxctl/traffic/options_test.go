package traffic_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotdeploy/hotdeploy/nginxctl/traffic"
)

// Bad input is refused before anything is sent, with a message that says what to change.
func TestStartProbeRefusesBadInput(t *testing.T) {
	for _, c := range []struct {
		o    traffic.ProbeOptions
		says string
	}{
		{traffic.ProbeOptions{URL: "ftp://127.0.0.1/"}, "only http:// and https://"},
		{traffic.ProbeOptions{URL: "127.0.0.1:8080"}, "only http:// and https://"},
		{traffic.ProbeOptions{URL: "file:///etc/passwd"}, "only http:// and https://"},
		{traffic.ProbeOptions{URL: "http:///path"}, "has no host"},
		{traffic.ProbeOptions{URL: "http://127.0.0.1:99999/"}, "not a port"},
		{traffic.ProbeOptions{URL: "http://192.0.2.1/", LoopbackOnly: true}, "192.0.2.1 is not a loopback address"},
		{traffic.ProbeOptions{URL: "http://[2001:db8::1]:8080/", LoopbackOnly: true}, "not a loopback address"},
		{traffic.ProbeOptions{URL: "http://[::ffff:10.0.0.1]/", LoopbackOnly: true}, "not a loopback address"},
		{traffic.ProbeOptions{URL: "http://127.0.0.1/", Mode: "pipelined"}, `mode "pipelined": use "fresh"`},
		{traffic.ProbeOptions{URL: "http://127.0.0.1/", Clients: -1}, "clients"},
		{traffic.ProbeOptions{URL: "http://127.0.0.1/", Clients: 1000}, "clients"},
		{traffic.ProbeOptions{URL: "http://127.0.0.1/", Rate: 5000}, "rate"},
		{traffic.ProbeOptions{URL: "http://127.0.0.1/", Timeout: -time.Second}, "timeout"},
		{traffic.ProbeOptions{URL: "http://127.0.0.1/", MaxDuration: 48 * time.Hour}, "maximum duration"},
		{traffic.ProbeOptions{URL: "http://127.0.0.1/", MaxRequests: -1}, "maximum of -1 requests"},
	} {
		p, err := traffic.StartProbe(context.Background(), c.o)
		if err == nil {
			p.Stop()
			t.Errorf("%+v: started", c.o)
			continue
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Errorf("%+v: error %q should say %q", c.o, err, c.says)
		}
	}
	// Loopback names and addresses pass in loopback-only mode.
	for _, u := range []string{"http://127.0.0.2:1/", "http://[::1]:1/", "http://localhost:1/", "https://127.0.0.1:1/"} {
		p, err := traffic.StartProbe(context.Background(), traffic.ProbeOptions{URL: u, LoopbackOnly: true, MaxRequests: 1})
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		p.Stop()
	}
}
