package masspay

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header MassPay signs status callbacks with.
const SignatureHeader = "X-MassPay-Signature"

// Errors returned by VerifySignature.
var (
	ErrSignatureMissing = errors.New("signature missing")
	ErrSignatureInvalid = errors.New("signature invalid")
	ErrSignatureStale   = errors.New("signature timestamp outside tolerance")
)

// SignPayload returns the X-MassPay-Signature header value for body at time
// ts: "t=TIMESTAMP,s=HEX(HMAC-SHA512(secret, TIMESTAMP|body))".
func SignPayload(secret []byte, ts time.Time, body []byte) string {
	t := strconv.FormatInt(ts.Unix(), 10)
	return "t=" + t + ",s=" + signature(secret, t, body)
}

func signature(secret []byte, t string, body []byte) string {
	m := hmac.New(sha512.New, secret)
	m.Write([]byte(t))
	m.Write([]byte{'|'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks header (an X-MassPay-Signature value) against body
// in constant time and refuses timestamps further than tolerance from now.
// It returns the signed timestamp.
func VerifySignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) (time.Time, error) {
	if header == "" {
		return time.Time{}, ErrSignatureMissing
	}
	var t, s string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			t = v
		case "s":
			s = v
		}
	}
	if t == "" || s == "" {
		return time.Time{}, fmt.Errorf("parse signature header: %w", ErrSignatureInvalid)
	}
	sec, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse signature timestamp: %w", ErrSignatureInvalid)
	}
	want := signature(secret, t, body)
	if !hmac.Equal([]byte(strings.ToLower(s)), []byte(want)) {
		return time.Time{}, ErrSignatureInvalid
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return ts, ErrSignatureStale
	}
	return ts, nil
}
