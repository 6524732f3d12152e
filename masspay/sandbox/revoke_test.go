package sandbox

import (
	"path/filepath"
	"testing"

	"github.com/payrun/payrun/masspay"
)

// TestRevokedAttributeSetIsRefused: after POST
// /_sandbox/users/{user}/attributes/revoke the payee's attribute set token
// is refused by initiate (400 unknown_attr_set), shows no stored values, and
// a quote taken with it before answers its commit addtl_attr_req; storing
// the details again gives a new set that pays.
func TestRevokedAttributeSetIsRefused(t *testing.T) {
	h := start(t, nil)
	user, dst := h.payee("rev@example.com")
	var reqs []masspay.AttrsRequirement
	h.call(200, "GET", "/attribute/"+user+"/"+dst+"/USD", nil, &reqs)
	set := reqs[0].AttrSetToken
	if set == "" {
		t.Fatalf("no attribute set stored: %+v", reqs)
	}
	initiate := func(ctid string) (int, []byte) {
		a := dec("100.20")
		return h.do("POST", "/"+user, masspay.PayoutTxn{ClientTransferID: ctid, DestinationCurrencyCode: "USD",
			SourceToken: h.sourceToken("USD"), DestinationToken: dst, SourceAmount: &a, AttrSetToken: set})
	}
	st, b := initiate("R-1")
	if st != 200 {
		t.Fatalf("initiate before revoke: %d %s", st, b)
	}
	var early masspay.PayoutTxnResp
	h.call(200, "POST", "/"+user, masspay.PayoutTxn{ClientTransferID: "R-0", DestinationCurrencyCode: "USD",
		SourceToken: h.sourceToken("USD"), DestinationToken: dst, SourceAmount: ptr(dec("50.20")), AttrSetToken: set}, &early)

	var out map[string]any
	h.call(200, "POST", "/_sandbox/users/"+user+"/attributes/revoke", nil, &out)
	if out["revoked_attr_sets"] != float64(1) {
		t.Fatalf("revoke answered %v", out)
	}
	st, b = initiate("R-2")
	if st != 400 || errBody(t, b).Error.Reason != "unknown_attr_set" {
		t.Fatalf("initiate with a revoked set: %d %s", st, b)
	}
	if c := h.commit(user, early.PayoutToken); c.Status != masspay.CommitAddtlAttrReq {
		t.Fatalf("commit of a quote on a revoked set: %+v", c)
	}
	reqs = nil // json.Unmarshal would keep the old elements' fields
	h.call(200, "GET", "/attribute/"+user+"/"+dst+"/USD", nil, &reqs)
	for _, r := range reqs {
		if r.Value != "" || r.AttrSetToken != "" {
			t.Fatalf("revoked values still listed: %+v", r)
		}
	}
	vals := masspay.AttrTxn{}
	for _, r := range reqs {
		v := "123456789"
		if r.Type == "BankAccountNumber" {
			v = "000123456789"
		}
		vals.Values = append(vals.Values, masspay.AttrValue{Token: r.Token, Value: v})
	}
	var stored masspay.AttrTxnResp
	h.call(200, "POST", "/attribute/"+user+"/"+dst+"/USD", vals, &stored)
	if stored.AttrSetToken == set || stored.AttrSetToken == "" {
		t.Fatalf("stored again into %q (revoked %q)", stored.AttrSetToken, set)
	}
	p := h.initiate(user, dst, "R-3", "100.20")
	if c := h.commit(user, p.PayoutToken); c.Status != masspay.CommitSuccess {
		t.Fatalf("commit with the new set: %+v", c)
	}
}

// TestRequestCounters: /_sandbox/requests counts API requests by method and
// path shape; DELETE answers the counts and starts again from zero.
func TestRequestCounters(t *testing.T) {
	h := start(t, nil)
	h.call(200, "DELETE", "/_sandbox/requests", nil, nil)
	user, _ := h.payee("count@example.com")
	h.call(200, "GET", "/user/"+user, nil, nil)
	var got map[string]int64
	h.call(200, "DELETE", "/_sandbox/requests", nil, &got)
	want := map[string]int64{"POST /user": 1, "GET /country/{}/best": 1, "GET /attribute/{}/{}/{}": 1,
		"POST /attribute/{}/{}/{}": 1, "GET /user/{}": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	var after map[string]int64
	h.call(200, "GET", "/_sandbox/requests", nil, &after)
	if len(after) != 0 {
		t.Errorf("after reset: %v", after)
	}
}

func ptr[T any](v T) *T { return &v }

// TestRevokedAttributeSetSurvivesRestart: a revoke is journaled like any
// change, so a restarted sandbox still refuses the token.
func TestRevokedAttributeSetSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	cfg := Config{APIKey: testKey, Seed: 7, StateFile: path}
	h := start(t, func(c *Config) { c.StateFile = path })
	user, dst := h.payee("restart@example.com")
	var reqs []masspay.AttrsRequirement
	h.call(200, "GET", "/attribute/"+user+"/"+dst+"/USD", nil, &reqs)
	set := reqs[0].AttrSetToken
	h.call(200, "POST", "/_sandbox/users/"+user+"/attributes/revoke", nil, nil)
	h = restart(h, cfg)
	a := dec("100.20")
	st, b := h.do("POST", "/"+user, masspay.PayoutTxn{ClientTransferID: "RS-1", DestinationCurrencyCode: "USD",
		SourceToken: h.sourceToken("USD"), DestinationToken: dst, SourceAmount: &a, AttrSetToken: set})
	if st != 400 || errBody(t, b).Error.Reason != "unknown_attr_set" {
		t.Fatalf("initiate with a revoked set after restart: %d %s", st, b)
	}
}
