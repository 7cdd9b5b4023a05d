package traffic

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotdeploy/hotdeploy/model"
)

// HoldMax bounds how long a held connection lives: it ends by itself after this.
const HoldMax = 10 * time.Minute

// holdTries bounds the connections HoldConnectionWhere opens to land on a wanted worker.
const holdTries = 32

// Held is one slow download kept open, so that the worker that accepted it has a long-lived
// connection to drain: the demo's way to show a worker "shutting down" until its last client
// leaves.
type Held struct {
	pid    int
	cancel context.CancelFunc
	done   chan struct{}
	read   atomic.Int64
	once   sync.Once
	mu     sync.Mutex
	err    error
}

// HoldConnection starts a slow download from a loopback URL and returns once the response
// headers arrived. A URL whose path is empty or "/" means the sandbox's /slow.bin. The body is
// read slowly (about 2 KiB/s) until it ends, Close is called, ctx ends or HoldMax passes.
func HoldConnection(ctx context.Context, rawURL string) (*Held, error) {
	tgt, err := resolveTarget(ctx, rawURL, true, "hold")
	if err != nil {
		return nil, err
	}
	if tgt.url.Path == "" || tgt.url.Path == "/" {
		u := *tgt.url
		u.Path = "/slow.bin"
		tgt.url = &u
	}
	client := tgt.client(5*time.Second, nil) // to connect and get the headers
	hctx, cancel := context.WithTimeout(ctx, HoldMax)
	req, err := http.NewRequestWithContext(hctx, http.MethodGet, tgt.url.String(), nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("User-Agent", "hotdeploy-hold")
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, model.Because("hold a connection to %s: %s", tgt.url, describeFailure(tgt.url.String(), classify(err, 0), 0, err, 5*time.Second)).Err()
	}
	if resp.StatusCode/100 != 2 {
		resp.Body.Close()
		cancel()
		return nil, model.Because("hold a connection to %s: it answered %s", tgt.url, resp.Status).Err()
	}
	h := &Held{cancel: cancel, done: make(chan struct{})}
	h.pid, _ = strconv.Atoi(resp.Header.Get(probeHeader))
	go h.drip(hctx, resp.Body)
	return h, nil
}

// HoldConnectionWhere opens held connections until one lands on a worker that want accepts
// (by its pid), closing the others; it gives up after a few tries. The demo uses it to hold a
// connection on the old generation while both serve.
func HoldConnectionWhere(ctx context.Context, rawURL string, want func(workerPID int) bool) (*Held, error) {
	seen := map[int]bool{}
	for range holdTries {
		h, err := HoldConnection(ctx, rawURL)
		if err != nil {
			return nil, err
		}
		if want(h.pid) {
			return h, nil
		}
		seen[h.pid] = true
		h.Close()
	}
	return nil, model.Because("hold a connection: %d tries landed only on other workers (%d of them)", holdTries, len(seen)).Err()
}

// drip reads the body slowly, 1 KiB every half second.
func (h *Held) drip(ctx context.Context, body io.ReadCloser) {
	defer close(h.done)
	defer body.Close()
	buf := make([]byte, 1024)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := io.ReadFull(body, buf)
		h.read.Add(int64(n))
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = nil // the whole file was sent
			}
			if ctx.Err() != nil {
				err = nil // closed, or held for HoldMax
			}
			h.mu.Lock()
			h.err = err
			h.mu.Unlock()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// WorkerPID is the pid of the worker holding the connection, from its X-Worker-Pid header;
// 0 if the server did not say.
func (h *Held) WorkerPID() int { return h.pid }

// BytesRead is how much of the download has been read so far.
func (h *Held) BytesRead() int64 { return h.read.Load() }

// Done is closed once the connection has ended.
func (h *Held) Done() <-chan struct{} { return h.done }

// Err is the error that ended the download early, nil while it runs or if it ended normally
// (whole file read, Close, or HoldMax reached).
func (h *Held) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Close ends the download (the client closes its connection) and waits until it has. It may be
// called more than once.
func (h *Held) Close() {
	h.once.Do(h.cancel)
	<-h.done
}
