package masspay

import (
	"errors"
	"testing"
)

// The API key goes in a header of every request: over http:// to another
// machine it would cross the network in clear. Plain http is for this
// machine only (the embedded sandbox, a local proxy).
func TestNewRefusesPlainHTTPToAnotherHost(t *testing.T) {
	for base, ok := range map[string]bool{
		"http://api.example.com/v1.0.0/payout":  false,
		"http://10.0.0.7:8080/v1.0.0/payout":    false,
		"http://127.0.0.1.evil.example/v1.0.0":  false,
		"http://localhost.evil.example/v1.0.0":  false,
		"https://api.example.com/v1.0.0/payout": true,
		"http://127.0.0.1:8080/v1.0.0/payout":   true,
		"http://127.9.9.9:1/x":                  true,
		"http://localhost:8080/v1.0.0/payout":   true,
		"http://[::1]:8080/v1.0.0/payout":       true,
	} {
		_, err := New(Config{BaseURL: base, APIKey: "k"})
		if ok && err != nil {
			t.Errorf("New(%s) = %v, want accepted", base, err)
		}
		if !ok && !errors.Is(err, ErrConfig) {
			t.Errorf("New(%s) = %v, want ErrConfig (http to a host that is not loopback)", base, err)
		}
	}
}
