package traffic

import (
	"fmt"
	"math"
	"time"
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
		return fmt.Errorf("probe: mode %q: use %q (a connection per request) or %q (reused connections)", o.Mode, ModeFresh, ModeKeepAlive)
	case o.Clients < 0 || o.Clients > 64:
		return fmt.Errorf("probe: %d clients: use 1 to 64", o.Clients)
	case math.IsNaN(o.Rate) || o.Rate < 0 || o.Rate > 1000:
		return fmt.Errorf("probe: rate %v requests per second: use more than 0 and at most 1000", o.Rate)
	case o.Timeout < 0 || o.Timeout > time.Minute:
		return fmt.Errorf("probe: request timeout %s: use more than 0 and at most 1m", o.Timeout)
	case o.MaxDuration < 0 || o.MaxDuration > 24*time.Hour:
		return fmt.Errorf("probe: maximum duration %s: use more than 0 and at most 24h", o.MaxDuration)
	case o.MaxRequests < 0:
		return fmt.Errorf("probe: maximum of %d requests: use more than 0", o.MaxRequests)
	}
	return nil
}
