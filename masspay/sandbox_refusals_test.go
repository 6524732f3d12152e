package masspay_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/masspay"
)

func TestSandboxUnauthorized(t *testing.T) {
	e := startSandbox(t, nil, func(c *masspay.Config) { c.APIKey = "wrong-key-0123456789" })
	_, err := e.c.Balances(e.ctx)
	if !errors.Is(err, masspay.ErrUnauthorized) || masspay.IsRetryable(err) || masspay.IsUnknownOutcome(err) {
		t.Fatalf("err = %v; want a definite ErrUnauthorized", err)
	}
	if n := len(e.wire.exchanges()); n != 1 {
		t.Fatalf("401 sent %d times, want 1", n)
	}
	if s := err.Error(); strings.Contains(s, "wrong-key-0123456789") || strings.Contains(s, sbKey) {
		t.Fatalf("error carries a key: %s", s)
	}
}

func TestSandboxKYCHold(t *testing.T) {
	e := startSandbox(t, nil, nil)
	usd := e.sourceToken(t, "USD")
	held := e.user(t, "emp-5", "fay@kyc-hold.example")
	if held.Status != masspay.UserLocked {
		t.Fatalf("status = %s, want LOCKED", held.Status)
	}
	_, err := e.c.Load(e.ctx, "kyc-load", held.UserToken, masspay.LoadTxn{ClientLoadID: "kyc-load", SourceToken: usd, Amount: dec("10")})
	link := masspay.KYCUploadURL(err)
	if !errors.Is(err, masspay.ErrKYCHold) || !strings.HasPrefix(link, "https://sandbox.masspay.example/kyc/upload/") {
		t.Fatalf("Load to held user = %v (link %q)", err, link)
	}
	if masspay.IsRetryable(err) || len(e.wire.matching(http.MethodPost, "/load/"+held.UserToken)) != 1 {
		t.Fatalf("a hold must not be retried")
	}

	// A user put on hold later gets its own link, returned on payouts too.
	ok := e.user(t, "emp-6", "gus@example.com")
	dst, set := e.usBankRoute(t, ok.UserToken)
	want, err := e.srv.HoldUser(ok.UserToken)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.c.InitiatePayout(e.ctx, "kyc-pay", ok.UserToken, e.payout("kyc-pay", usd, dst, set, "20"))
	if !errors.Is(err, masspay.ErrKYCHold) || masspay.KYCUploadURL(err) != want || want == link {
		t.Fatalf("payout to held user = %v, link %q; want %q", err, masspay.KYCUploadURL(err), want)
	}
}

// TestSandboxRefusals covers the refusals MassPay sends inside a 200 and the
// typed errors of loads.
func TestSandboxRefusals(t *testing.T) {
	e := startSandbox(t, nil, nil)
	usd := e.sourceToken(t, "USD")
	u := e.user(t, "emp-8", "ivy@example.com")
	dst, set := e.usBankRoute(t, u.UserToken)
	ctx := e.ctx

	commit := func(ctid, amount string) (*masspay.PayoutTxnCommitResp, error) {
		t.Helper()
		q, err := e.c.InitiatePayout(ctx, ctid, u.UserToken, e.payout(ctid, usd, dst, set, amount))
		if err != nil {
			t.Fatalf("InitiatePayout %s: %v", ctid, err)
		}
		return e.c.CommitPayout(ctx, ctid+"#commit", u.UserToken, q.PayoutToken)
	}
	for _, tc := range []struct {
		amount, status string
		kind           error
	}{
		{"30.13", masspay.CommitFailure, masspay.ErrCommitFailed},
		{"30.14", masspay.CommitAddtlAttrReq, masspay.ErrAdditionalAttributes},
	} {
		cm, err := commit("magic-"+tc.amount, tc.amount)
		if !errors.Is(err, tc.kind) || cm == nil || cm.Status != tc.status {
			t.Errorf("commit %s = %+v, %v; want %s", tc.amount, cm, err, tc.status)
		}
	}

	// Quote expiry on the sandbox clock.
	q, err := e.c.InitiatePayout(ctx, "late", u.UserToken, e.payout("late", usd, dst, set, "40"))
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Advance(3 * time.Minute)
	cm, err := e.c.CommitPayout(ctx, "late#commit", u.UserToken, q.PayoutToken)
	if !errors.Is(err, masspay.ErrQuoteExpired) || cm == nil || cm.Status != masspay.CommitExRateExpired {
		t.Fatalf("late commit = %+v, %v", cm, err)
	}

	// DUPLICATE: a committed ctid asked again under a fresh key.
	if _, err := commit("dup", "41"); err != nil {
		t.Fatalf("commit dup: %v", err)
	}
	r, err := e.c.InitiatePayout(ctx, "dup#2", u.UserToken, e.payout("dup", usd, dst, set, "41"))
	if !errors.Is(err, masspay.ErrDuplicate) || r == nil || r.PayoutToken != masspay.PayoutTokenDuplicate {
		t.Fatalf("duplicate initiate = %+v, %v", r, err)
	}

	// The same key for a different request is a key-derivation bug, not a
	// duplicate payment.
	_, err = e.c.InitiatePayout(ctx, "dup#2", u.UserToken, e.payout("dup-other", usd, dst, set, "41"))
	if !errors.Is(err, masspay.ErrIdempotencyKeyReused) || errors.Is(err, masspay.ErrDuplicate) {
		t.Errorf("reused key = %v", err)
	}

	// Loads: duplicate client_load_id (409), refused (.13), NSF.
	if _, err := e.c.Load(ctx, "l-1", u.UserToken, masspay.LoadTxn{ClientLoadID: "l-1", SourceToken: usd, Amount: dec("1")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.Load(ctx, "l-1-other-key", u.UserToken, masspay.LoadTxn{ClientLoadID: "l-1", SourceToken: usd, Amount: dec("1")})
	if !errors.Is(err, masspay.ErrDuplicate) {
		t.Errorf("duplicate load = %v", err)
	}
	_, err = e.c.Load(ctx, "l-13", u.UserToken, masspay.LoadTxn{ClientLoadID: "l-13", SourceToken: usd, Amount: dec("2.13")})
	var ae *masspay.APIError
	if !errors.As(err, &ae) || ae.Reason != "load_refused" || masspay.IsRetryable(err) {
		t.Errorf(".13 load = %v", err)
	}

	// NSF: drain the account, then ask.
	e.srv.AdjustBalance("USD", balanceOf(e.srv.Audit(), "USD").Sub(dec("5")).Neg())
	r, err = e.c.InitiatePayout(ctx, "poor", u.UserToken, e.payout("poor", usd, dst, set, "10"))
	if !errors.Is(err, masspay.ErrInsufficientFunds) || r == nil || r.PayoutToken != masspay.PayoutTokenNSF {
		t.Errorf("NSF initiate = %+v, %v", r, err)
	}
	_, err = e.c.Load(ctx, "l-nsf", u.UserToken, masspay.LoadTxn{ClientLoadID: "l-nsf", SourceToken: usd, Amount: dec("6")})
	if !errors.Is(err, masspay.ErrInsufficientFunds) {
		t.Errorf("NSF load = %v", err)
	}
}
