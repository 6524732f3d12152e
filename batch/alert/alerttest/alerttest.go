package alerttest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/payrun/payrun/ledger"
)

// Mailbox is what the test SMTP server received.
type Mailbox struct {
	mu   sync.Mutex
	msgs []Received
}

// Received is one message as the server got it: envelope, raw data,
// whether the connection was TLS, and the user who authenticated.
type Received struct {
	From string
	To   []string
	Data string
	TLS  bool
	User string
}

// All returns the messages received so far.
func (b *Mailbox) All() []Received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Received(nil), b.msgs...)
}

type backend struct {
	box        *Mailbox
	user, pass string
}

func (be *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, tlsOn := c.TLSConnectionState()
	return &session{be: be, cur: Received{TLS: tlsOn}, conn: c}, nil
}

type session struct {
	be   *backend
	conn *smtp.Conn
	cur  Received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.be.user || pass != s.be.pass {
			return errors.New("bad credentials")
		}
		s.cur.User = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.be.user != "" && s.cur.User == "" {
		return &smtp.SMTPError{Code: 530, Message: "authenticate first"}
	}
	s.cur.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = string(b)
	_, s.cur.TLS = s.conn.TLSConnectionState()
	s.be.box.mu.Lock()
	s.be.box.msgs = append(s.be.box.msgs, s.cur)
	s.be.box.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = Received{TLS: s.cur.TLS, User: s.cur.User} }
func (s *session) Logout() error { return nil }

// SelfSigned makes a certificate for 127.0.0.1 and the pool that trusts it.
func SelfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// StartSMTP runs an SMTP server on 127.0.0.1 that needs TLS (STARTTLS, or
// TLS from the start when implicit) and PLAIN auth as user/pass.
func StartSMTP(t *testing.T, implicit bool, user, pass string) (addr string, box *Mailbox, roots *x509.CertPool) {
	t.Helper()
	cert, roots := SelfSigned(t)
	addr, box = serveSMTP(t, implicit, user, pass, cert)
	return addr, box, roots
}

// StartSMTPWithCAFile is StartSMTP whose certificate's PEM is written to a
// file, for payrun's smtp_ca_file.
func StartSMTPWithCAFile(t *testing.T, implicit bool, user, pass string) (addr string, box *Mailbox, caFile string) {
	t.Helper()
	cert, _ := SelfSigned(t)
	caFile = filepath.Join(t.TempDir(), "smtp-ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	if err := os.WriteFile(caFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	addr, box = serveSMTP(t, implicit, user, pass, cert)
	return addr, box, caFile
}

func serveSMTP(t *testing.T, implicit bool, user, pass string, cert tls.Certificate) (addr string, box *Mailbox) {
	box = &Mailbox{}
	srv := smtp.NewServer(&backend{box: box, user: user, pass: pass})
	srv.Domain = "mx.test"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	var ln net.Listener
	var err error
	if implicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), box
}

// Hook is an HTTP receiver for the webhook channel; the first fail posts
// are answered 500.
type Hook struct {
	// Srv is the receiver; post to Srv.URL plus any path.
	Srv *httptest.Server
	// Fail is how many posts from now are answered 500.
	Fail atomic.Int32
	// Tries counts every post.
	Tries  atomic.Int32
	mu     sync.Mutex
	bodies [][]byte
}

// StartHook runs a webhook receiver until the test ends.
func StartHook(t *testing.T) *Hook {
	h := &Hook{}
	h.Srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Tries.Add(1)
		b, _ := io.ReadAll(r.Body)
		if h.Fail.Add(-1) >= 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want json", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, bytes.Clone(b))
		h.mu.Unlock()
	}))
	t.Cleanup(h.Srv.Close)
	return h
}

// Got returns the bodies of the posts it accepted.
func (h *Hook) Got() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...)
}

// OpenLedger opens a fresh ledger in the test's temp dir.
func OpenLedger(t *testing.T) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(context.Background(), filepath.Join(t.TempDir(), "payrun.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
