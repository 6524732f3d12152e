// Package webhook receives MassPay's status callbacks.
//
// Handler is an http.Handler that checks each delivery the way MassPay's
// status-callback reference asks (X-MassPay-Signature: HMAC-SHA512 over
// "TIMESTAMP|body", compared in constant time, stale timestamps refused),
// decodes the body into a masspay.WebhookEvent and hands it to a callback.
// It answers 2xx only once the callback returned nil, so a callback that
// writes the event to durable storage before returning never loses one:
// anything else makes MassPay deliver again. Deliveries repeat and arrive out
// of order; the callback must be idempotent.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/masspay"
)

// Defaults applied to zero Handler fields.
const (
	// DefaultTolerance is how far a signature's timestamp may be from now.
	DefaultTolerance = 5 * time.Minute
	// DefaultMaxBodyBytes bounds a delivery's body; MassPay's events are a
	// few hundred bytes.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultCallbackTimeout bounds the callback of one delivery.
	DefaultCallbackTimeout = 30 * time.Second
)

// Callback handles one verified event. Returning nil acknowledges the
// delivery (2xx); an error makes the handler answer 500 so MassPay retries.
// It must be idempotent and must only return nil once the event is durable.
type Callback func(ctx context.Context, ev masspay.WebhookEvent, received time.Time) error

// Handler verifies and decodes MassPay status callbacks. Its exported fields
// must not change once it serves requests.
type Handler struct {
	// Secret keys the HMAC (the webhook secret from MassPay's dashboard).
	// Required: a Handler without one refuses every delivery.
	Secret []byte
	// OnEvent receives every verified event. Required.
	OnEvent Callback
	// Tolerance is how far the signed timestamp may be from Now; zero means
	// DefaultTolerance.
	Tolerance time.Duration
	// MaxBodyBytes bounds the body; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// CallbackTimeout bounds OnEvent; zero means DefaultCallbackTimeout.
	CallbackTimeout time.Duration
	// Now is the receiver's clock; nil means time.Now.
	Now func() time.Time
	// Log receives one line per refused or failed delivery (never the secret
	// or the body); nil is silent.
	Log *zerolog.Logger
}

// New returns a Handler for secret that passes events to fn.
func New(secret []byte, fn Callback) *Handler { return &Handler{Secret: secret, OnEvent: fn} }

// ServeHTTP handles one delivery: 405 for anything but POST, 413 for a body
// over the limit, 401 for a missing, forged or stale signature, 400 for a
// body that is not an event, 500 when the callback failed, 200 otherwise.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, http.StatusMethodNotAllowed, "method not allowed", nil)
		return
	}
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.refuse(w, http.StatusRequestEntityTooLarge, "body too large", nil)
			return
		}
		h.refuse(w, http.StatusBadRequest, "read body", err)
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	received := now()
	tol := h.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	if len(h.Secret) == 0 {
		h.refuse(w, http.StatusUnauthorized, "no webhook secret configured", nil)
		return
	}
	if _, err := masspay.VerifySignature(h.Secret, r.Header.Get(masspay.SignatureHeader), body, received, tol); err != nil {
		h.refuse(w, http.StatusUnauthorized, "signature refused", err)
		return
	}
	ev, err := decode(body)
	if err != nil {
		h.refuse(w, http.StatusBadRequest, "bad event", err)
		return
	}
	if h.OnEvent == nil {
		h.refuse(w, http.StatusInternalServerError, "no callback", nil)
		return
	}
	// The write must finish even if MassPay hangs up: a half-applied event
	// would only be applied again, but a finished one need not be.
	cbTimeout := h.CallbackTimeout
	if cbTimeout <= 0 {
		cbTimeout = DefaultCallbackTimeout
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), cbTimeout)
	defer cancel()
	if err := h.OnEvent(ctx, ev, received); err != nil {
		h.refuse(w, http.StatusInternalServerError, "event not recorded", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, `{"received":true}`)
}

// decode parses an event and checks it names what it is about.
func decode(body []byte) (masspay.WebhookEvent, error) {
	var ev masspay.WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, fmt.Errorf("decode event: %w", err)
	}
	if ev.EventType == "" || ev.Status == "" {
		return ev, errors.New("decode event: event_type and status are required")
	}
	return ev, nil
}

func (h *Handler) refuse(w http.ResponseWriter, code int, msg string, err error) {
	if h.Log != nil {
		e := h.Log.Warn()
		if code >= 500 {
			e = h.Log.Error()
		}
		e.Int("status", code).AnErr("reason", err).Msg("webhook delivery refused: " + msg)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]string{"error": msg})
	_, _ = w.Write(b)
}

// DefaultShutdownGrace is how long Serve waits for deliveries in flight.
const DefaultShutdownGrace = 10 * time.Second

// Serve serves h on addr until ctx is done, then shuts down gracefully: it
// stops accepting, lets deliveries in flight finish their ledger writes for up
// to grace (zero means DefaultShutdownGrace), and returns nil. ready, when not
// nil, is called with the bound address once the listener is up.
func Serve(ctx context.Context, addr string, h http.Handler, grace time.Duration, ready func(addr string)) error {
	if grace <= 0 {
		grace = DefaultShutdownGrace
	}
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	ln, err := listen(ctx, addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve webhooks: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down webhook server: %w", err)
	}
	<-errc
	return nil
}
