package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is a Sandbox listening on a TCP address.
type Server struct {
	*Sandbox
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
	tick chan struct{}
}

// Start starts a sandbox on a free port of 127.0.0.1.
func Start(cfg Config) (*Server, error) { return Listen("127.0.0.1:0", cfg) }

// Listen starts a sandbox on addr.
func Listen(addr string, cfg Config) (*Server, error) {
	sb, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		sb.Close()
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &Server{Sandbox: sb, ln: ln, done: make(chan struct{}), tick: make(chan struct{}),
		srv: &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			sb.log.Error().Err(err).Msg("sandbox server stopped")
		}
	}()
	go s.ticker()
	return s, nil
}

// ticker runs due status changes once a second, so scheduled loads and
// payout progressions happen on a real clock even without requests.
func (s *Server) ticker() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.tick:
			return
		case <-t.C:
			s.Tick()
		}
	}
}

// URL is the base URL of the payout API, e.g.
// "http://127.0.0.1:PORT/v1.0.0/payout": what the masspay client takes. An
// official SDK takes SDKURL.
func (s *Server) URL() string { return "http://" + s.Addr() + apiPrefix }

// SDKURL is the base an official MassPay SDK takes:
// "http://127.0.0.1:PORT/v1.0.0".
func (s *Server) SDKURL() string { return "http://" + s.Addr() + "/v1.0.0" }

// Addr is the listening address, "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close shuts the server down gracefully (waiting up to 5 s for requests in
// flight) and stops webhook delivery.
func (s *Server) Close() error {
	// Requests in flight get a moment to finish; a connection a client opened
	// and never used would otherwise hold Shutdown for its whole deadline
	// (net/http waits 5 s on new connections), so it is closed after the grace.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

// Shutdown is Close with the caller's deadline.
func (s *Server) Shutdown(ctx context.Context) error {
	select {
	case <-s.tick:
	default:
		close(s.tick)
	}
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// Every state change is saved before it is answered, so closing the
		// stragglers loses no state; their clients see a dropped connection,
		// which they must treat as an unknown outcome anyway.
		err = s.srv.Close()
	}
	<-s.done
	if cerr := s.Sandbox.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("shut down sandbox: %w", err)
	}
	return nil
}
