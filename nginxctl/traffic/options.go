package traffic

import (
	"math"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// ProbeOptions shape a traffic probe. Zero values take the defaults.
type ProbeOptions struct {
	URL string
	// Mode is ModeFresh (the default: a connection per request) or ModeKeepAlive (one reused
	// connection per client).
	Mode        string
	Clients     int           // concurrent clients; default 4
	Rate        float64       // requests per second, all clients together; default 20
	Timeout     time.Duration // per request; default 2s
	MaxDuration time.Duration // the probe stops by itself after this; default 1h
	MaxRequests int64         // ... or after this many requests; default 500000
	// LoopbackOnly refuses a URL whose host is not on 127.0.0.0/8 or ::1 (demo mode), and pins
	// the connections to the loopback address it resolved to.
	LoopbackOnly bool
}

// probeDefaults fills in the defaults and refuses options out of their bounds: every probe is
// bounded in clients, rate, time and count.
func probeDefaults(o *ProbeOptions) error {
	if o.Mode == "" {
		o.Mode = ModeFresh
	}
	if o.Clients == 0 {
		o.Clients = 4
	}
	if o.Rate == 0 {
		o.Rate = 20
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	if o.MaxDuration == 0 {
		o.MaxDuration = time.Hour
	}
	if o.MaxRequests == 0 {
		o.MaxRequests = 500000
	}
	switch {
	case o.Mode != ModeFresh && o.Mode != ModeKeepAlive:
		return model.Because("probe: mode %q: use %q (a connection per request) or %q (reused connections)", o.Mode, ModeFresh, ModeKeepAlive).Err()
	case o.Clients < 0 || o.Clients > 64:
		return model.Because("probe: %d clients: use 1 to 64", o.Clients).Err()
	case math.IsNaN(o.Rate) || o.Rate < 0 || o.Rate > 1000:
		return model.Because("probe: rate %v requests per second: use more than 0 and at most 1000", o.Rate).Err()
	case o.Timeout < 0 || o.Timeout > time.Minute:
		return model.Because("probe: request timeout %s: use more than 0 and at most 1m", o.Timeout).Err()
	case o.MaxDuration < 0 || o.MaxDuration > 24*time.Hour:
		return model.Because("probe: maximum duration %s: use more than 0 and at most 24h", o.MaxDuration).Err()
	case o.MaxRequests < 0:
		return model.Because("probe: maximum of %d requests: use more than 0", o.MaxRequests).Err()
	}
	return nil
}
