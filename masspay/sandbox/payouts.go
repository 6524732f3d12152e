package sandbox

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

// Timing of the sandbox's payout lifecycle, on the sandbox clock.
const (
	QuoteValidity   = 2 * time.Minute  // initiate -> commit window
	ProcessingAfter = 1 * time.Minute  // commit -> PROCESSING
	FinalAfter      = 5 * time.Minute  // commit -> COMPLETED / READY_FOR_PICKUP / CANCELLED (.15)
	FlipAfter       = 35 * time.Minute // commit -> CANCELLED for .16 (30 minutes after COMPLETED)
)

// Magic cents of a payout's source amount (or a load's amount).
const (
	centsFailure   = 13 // commit answers failure; a load answers 400 load_refused
	centsAttrReq   = 14 // commit answers addtl_attr_req
	centsCancelled = 15 // commits, then ends CANCELLED
	centsFlip      = 16 // commits, COMPLETED, then flips to CANCELLED
)

func (s *Sandbox) initiatePayout(rq *request) (int, any, *apiError) {
	u, e := s.user404(rq.seg[0])
	if e != nil {
		return 0, nil, e
	}
	var in masspay.PayoutTxn
	if e := decodeBody(rq.body, &in); e != nil {
		return 0, nil, e
	}
	if u.Status == masspay.UserLocked {
		return 0, nil, kycError(u)
	}
	if e := required("destination_currency_code", in.DestinationCurrencyCode, "source_token", in.SourceToken,
		"destination_token", in.DestinationToken); e != nil {
		return 0, nil, e
	}
	if e := maxLen("client_transfer_id", in.ClientTransferID, 50); e != nil {
		return 0, nil, e
	}
	r := routesByToken[in.DestinationToken]
	if r == nil {
		return 0, nil, badField("destination_token", "invalid_destination", "destination_token %q is not a known route", in.DestinationToken)
	}
	if dst := strings.ToUpper(in.DestinationCurrencyCode); dst != r.Currency {
		return 0, nil, badField("destination_currency_code", "invalid_currency", "destination_currency_code must be %s for this destination", r.Currency)
	}
	b := s.balanceTokens[in.SourceToken]
	if b == nil {
		return 0, nil, badField("source_token", "invalid_source", "source_token %q is not one of the account's balances", in.SourceToken)
	}
	src := strings.ToUpper(in.SourceCurrencyCode)
	if src == "" {
		src = b.currency
	}
	if src != b.currency {
		return 0, nil, badField("source_currency_code", "invalid_currency", "source_currency_code must be %s for this source_token", b.currency)
	}
	q := price(r, src)
	sp, dp := currencies[src].places, currencies[r.Currency].places
	var sa, da decimal.Decimal
	switch {
	case in.SourceAmount != nil:
		if e := checkAmount("source_amount", *in.SourceAmount); e != nil {
			return 0, nil, e
		}
		if !in.SourceAmount.Equal(in.SourceAmount.Round(sp)) {
			return 0, nil, badField("source_amount", "invalid_amount", "source_amount has more than %d decimal places", sp)
		}
		sa = *in.SourceAmount
		da = sa.Mul(q.rate).Round(dp)
	case in.DestinationAmount != nil:
		if e := checkAmount("destination_amount", *in.DestinationAmount); e != nil {
			return 0, nil, e
		}
		if !in.DestinationAmount.Equal(in.DestinationAmount.Round(dp)) {
			return 0, nil, badField("destination_amount", "invalid_amount", "destination_amount has more than %d decimal places", dp)
		}
		da = *in.DestinationAmount
		sa = da.DivRound(q.rate, 16).RoundCeil(sp)
	default:
		return 0, nil, badField("source_amount", "required", "source_amount or destination_amount is required")
	}
	if sa.LessThan(q.min) || sa.GreaterThan(q.max) {
		return 0, nil, badField("source_amount", "amount_out_of_range", "source amount %s %s is outside this route's limits %s..%s", sa, src, q.min, q.max)
	}
	if in.AttrSetToken != "" {
		set := s.liveAttrSet(in.AttrSetToken)
		if set == nil || set.userToken != u.UserToken || set.destToken != r.Token {
			return 0, nil, badField("attr_set_token", "unknown_attr_set", "attr_set_token %q does not belong to this user and destination", in.AttrSetToken)
		}
	}
	autoCommit := in.AutoCommit != nil && *in.AutoCommit
	if autoCommit && src != r.Currency {
		return 0, nil, badField("auto_commit", "invalid_auto_commit", "auto_commit is only allowed without currency conversion")
	}
	quoteResp := masspay.PayoutTxnResp{ClientTransferID: in.ClientTransferID, SourceCurrencyCode: src,
		DestinationCurrencyCode: r.Currency, SourceToken: b.token, DestinationToken: r.Token, SourceAmount: sa,
		DestinationAmount: da, ExchangeRate: q.rate, Fee: q.fee, PayerName: r.PayerName, DeliveryType: r.DeliveryType,
		CountryCode: r.Country, EstimatedAvailability: r.Availability, Metadata: in.Metadata, AttrSetToken: in.AttrSetToken}
	if prev := s.committedCTID[in.ClientTransferID]; in.ClientTransferID != "" && prev != nil {
		quoteResp.PayoutToken, quoteResp.Status = masspay.PayoutTokenDuplicate, masspay.StatusError
		quoteResp.StatusReason = "client_transfer_id already used by committed payout " + prev.PayoutToken
		return http.StatusOK, quoteResp, nil
	}
	if b.amount.LessThan(sa.Add(q.fee)) {
		quoteResp.PayoutToken, quoteResp.Status = masspay.PayoutTokenNSF, masspay.StatusError
		quoteResp.StatusReason = "insufficient funds"
		return http.StatusOK, quoteResp, nil
	}
	now := s.Now()
	s.seq++
	p := &payout{PayoutTxnResp: quoteResp, userToken: u.UserToken, route: r, created: now,
		expires: now.Add(QuoteValidity), cents: cents(sa), seq: s.seq}
	p.PayoutToken = "payout_" + s.uuid()
	p.Status = masspay.StatusPending
	p.StatusReason = "awaiting commit"
	p.Expiration = stamp(p.expires)
	s.payouts[p.PayoutToken] = p
	s.payoutList = append(s.payoutList, p)
	s.touchPayout(p)
	if autoCommit {
		s.commit(p, now)
	}
	return http.StatusOK, p.PayoutTxnResp, nil
}

// payout404 finds the payout of path /{user}/{payout}.
func (s *Sandbox) payout404(rq *request) (*user, *payout, *apiError) {
	u, e := s.user404(rq.seg[0])
	if e != nil {
		return nil, nil, e
	}
	p := s.payouts[rq.seg[1]]
	if p == nil || p.userToken != u.UserToken {
		return nil, nil, notFound("payout %s not found", rq.seg[1])
	}
	return u, p, nil
}

func (s *Sandbox) commitPayout(rq *request) (int, any, *apiError) {
	u, p, e := s.payout404(rq)
	if e != nil {
		return 0, nil, e
	}
	if u.Status == masspay.UserLocked && !p.committed {
		return 0, nil, kycError(u)
	}
	return http.StatusOK, s.commit(p, s.Now()), nil
}

// commit commits p. A second commit of a committed payout answers success
// again and moves no money. Callers hold s.mu.
func (s *Sandbox) commit(p *payout, now time.Time) masspay.PayoutTxnCommitResp {
	resp := masspay.PayoutTxnCommitResp{PayoutToken: p.PayoutToken}
	if p.committed {
		resp.Status, resp.PickupCode = masspay.CommitSuccess, p.PickupCode
		return resp
	}
	if p.commitStatus != "" {
		resp.Status = p.commitStatus
		resp.Errors = masspay.FlexErrors{p.StatusReason}
		return resp
	}
	refuse := func(status, reason string) masspay.PayoutTxnCommitResp {
		p.commitStatus, p.Status, p.StatusReason = status, masspay.StatusCancelled, reason
		s.touchPayout(p)
		resp.Status, resp.Errors = status, masspay.FlexErrors{reason}
		return resp
	}
	b := s.balanceTokens[p.SourceToken]
	total := p.SourceAmount.Add(p.Fee)
	switch {
	case now.After(p.expires):
		return refuse(masspay.CommitExRateExpired, "the quote expired; initiate a new payout")
	case p.cents == centsFailure:
		return refuse(masspay.CommitFailure, "declined by the payer (sandbox magic cents .13)")
	case p.cents == centsAttrReq:
		return refuse(masspay.CommitAddtlAttrReq, "additional attributes required (sandbox magic cents .14)")
	case missingAttrs(p.route, s.attrSetFor(p)):
		return refuse(masspay.CommitAddtlAttrReq, "required attributes are missing; store them, then initiate a new payout")
	case p.ClientTransferID != "" && s.committedCTID[p.ClientTransferID] != nil:
		return refuse(masspay.CommitFailure, "Duplicate transfer")
	case b.amount.LessThan(total):
		resp.Status, resp.Errors = masspay.CommitNSF, masspay.FlexErrors{"insufficient funds"}
		return resp
	}
	b.amount = b.amount.Sub(total)
	s.record(b, "payout", total.Neg(), "payout "+p.PayoutToken, p.ClientTransferID, p.userToken)
	s.markCommitted(p, now)
	resp.Status, resp.PickupCode = masspay.CommitSuccess, p.PickupCode
	return resp
}

// markCommitted makes p committed at now and schedules its status
// progression. Callers hold s.mu and have moved the money.
func (s *Sandbox) markCommitted(p *payout, now time.Time) {
	p.committed, p.committedAt = true, now
	s.touchPayout(p)
	p.Status, p.StatusReason = masspay.StatusPending, ""
	if p.route.DeliveryType == masspay.DeliveryCashPickup {
		p.PickupCode = fmt.Sprintf("%08d", s.rng.IntN(100000000))
	}
	if p.ClientTransferID != "" {
		s.committedCTID[p.ClientTransferID] = p
	}
	s.payoutEvent(p, now)
	s.after(now.Add(ProcessingAfter), timerProcessing, p.PayoutToken)
	s.after(now.Add(FinalAfter), timerFinal, p.PayoutToken)
	if p.cents == centsFlip {
		s.after(now.Add(FlipAfter), timerFlip, p.PayoutToken)
	}
}

// setStatus changes a committed payout's status and emits its webhook. A
// cancelled payout gives its amount and fee back to the balance it came
// from (autopay payouts give it back to the wallet).
func (s *Sandbox) setStatus(p *payout, status, reason string, at time.Time) {
	if p.Status == status {
		return
	}
	p.Status, p.StatusReason = status, reason
	s.touchPayout(p)
	if status == masspay.StatusCancelled {
		if w := s.wallets[p.SourceToken]; w != nil {
			w.Balance = w.Balance.Add(p.SourceAmount.Add(p.Fee))
			s.touchWallet(w)
		} else if b := s.balanceTokens[p.SourceToken]; b != nil {
			refund := p.SourceAmount.Add(p.Fee)
			b.amount = b.amount.Add(refund)
			s.record(b, "payout_refund", refund, "cancelled payout "+p.PayoutToken, p.ClientTransferID, p.userToken)
		}
	}
	s.payoutEvent(p, at)
}

// attrSetFor is the attribute set a payout uses: its own, or the user's
// latest for the route.
func (s *Sandbox) attrSetFor(p *payout) *attrSet {
	if p.AttrSetToken != "" {
		return s.liveAttrSet(p.AttrSetToken)
	}
	return s.liveLast(p.userToken + "|" + p.route.Token)
}

// view is the payout as GET shows it: an uncommitted quote past its expiry
// shows CANCELLED.
func (s *Sandbox) view(p *payout) masspay.PayoutTxnResp {
	v := p.PayoutTxnResp
	if !p.committed && p.commitStatus == "" && s.Now().After(p.expires) {
		v.Status, v.StatusReason = masspay.StatusCancelled, "the quote expired before commit"
	}
	return v
}

func (s *Sandbox) getPayout(rq *request) (int, any, *apiError) {
	_, p, e := s.payout404(rq)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, s.view(p), nil
}

// listPayouts lists the user's committed payouts, oldest first; quotes that
// were never committed moved no money and are not listed.
func (s *Sandbox) listPayouts(rq *request) (int, any, *apiError) {
	u, e := s.user404(rq.seg[0])
	if e != nil {
		return 0, nil, e
	}
	out := []masspay.PayoutTxnResp{}
	for _, p := range s.payoutList {
		if p.userToken == u.UserToken && p.committed {
			out = append(out, s.view(p))
		}
	}
	return http.StatusOK, out, nil
}

func (s *Sandbox) payoutPDF(rq *request) (int, any, *apiError) {
	u, p, e := s.payout404(rq)
	if e != nil {
		return 0, nil, e
	}
	v := s.view(p)
	lines := []string{
		"MassPay payout confirmation (sandbox)",
		"Payout token: " + v.PayoutToken,
		"Client transfer ID: " + v.ClientTransferID,
		"Recipient: " + u.FirstName + " " + u.LastName + " (" + u.UserToken + ")",
		"Route: " + v.CountryCode + " " + v.DeliveryType + " " + v.PayerName,
		"Source amount: " + v.SourceAmount.String() + " " + v.SourceCurrencyCode,
		"Fee: " + v.Fee.String() + " " + v.SourceCurrencyCode,
		"Exchange rate: " + v.ExchangeRate.String(),
		"Destination amount: " + v.DestinationAmount.String() + " " + v.DestinationCurrencyCode,
		"Status: " + v.Status,
		"Generated: " + stamp(s.Now()),
	}
	if v.PickupCode != "" {
		lines = append(lines, "Pickup code: "+v.PickupCode)
	}
	return http.StatusOK, masspay.PDFConfirmation{Content: base64.StdEncoding.EncodeToString(minimalPDF(lines))}, nil
}
