package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

// histRow is a history row with its sort keys.
type histRow struct {
	at  time.Time
	seq int
	row masspay.TxnHistory
}

// history lists loads and committed payouts of userToken ("" = every user),
// oldest first so that pages stay stable while new rows arrive.
func (s *Sandbox) history(rq *request, userToken string) (int, any, *apiError) {
	from, to, e := dateRange(rq, 0)
	if e != nil {
		return 0, nil, e
	}
	typ := strings.ToLower(rq.q.Get("type"))
	page, e := intParam(rq, "page", 1)
	if e != nil {
		return 0, nil, e
	}
	per, e := intParam(rq, "number_of_records", 100)
	if e != nil {
		return 0, nil, e
	}
	in := func(t time.Time) bool { return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to)) }
	var rows []histRow
	if typ == "" || typ == "load" {
		for _, l := range s.loadList {
			if (userToken == "" || l.userToken == userToken) && in(l.created) {
				rows = append(rows, histRow{l.created, l.seq, masspay.TxnHistory{Token: l.token, Type: "load",
					TimeOfTxn: stamp(l.created), SourceAmount: l.amount, DestinationAmount: l.amount,
					SourceCurrencyCode: l.currency, DestinationCurrencyCode: l.currency, Fee: decimal.Zero,
					Status: l.status, ClientTransferID: l.clientID, UserToken: l.userToken,
					SourceToken: s.balances[l.currency].token, DestinationToken: l.walletToken, Notes: l.notes}})
			}
		}
	}
	if typ == "" || typ == "payout" {
		for _, p := range s.payoutList {
			if p.committed && (userToken == "" || p.userToken == userToken) && in(p.committedAt) {
				rate := p.ExchangeRate
				rows = append(rows, histRow{p.committedAt, p.seq, masspay.TxnHistory{Token: p.PayoutToken, Type: "payout",
					TimeOfTxn: stamp(p.committedAt), SourceAmount: p.SourceAmount, DestinationAmount: p.DestinationAmount,
					SourceCurrencyCode: p.SourceCurrencyCode, DestinationCurrencyCode: p.DestinationCurrencyCode, Fee: p.Fee,
					Status: p.Status, ClientTransferID: p.ClientTransferID, PickupCode: p.PickupCode,
					StatusReason: p.StatusReason, UserToken: p.userToken, ExchangeRate: &rate,
					SourceToken: p.SourceToken, DestinationToken: p.DestinationToken, PayerName: p.PayerName,
					DeliveryType: p.DeliveryType}})
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].at.Equal(rows[j].at) {
			return rows[i].at.Before(rows[j].at)
		}
		return rows[i].seq < rows[j].seq
	})
	out := []masspay.TxnHistory{}
	for i := (page - 1) * per; i < len(rows) && i < page*per; i++ {
		out = append(out, rows[i].row)
	}
	return http.StatusOK, out, nil
}

func (s *Sandbox) userHistory(rq *request) (int, any, *apiError) {
	u, e := s.user404(rq.seg[1])
	if e != nil {
		return 0, nil, e
	}
	return s.history(rq, u.UserToken)
}

func (s *Sandbox) allHistory(rq *request) (int, any, *apiError) { return s.history(rq, "") }

// dateRange parses start_date and end_date (YYYY-MM-DD, both inclusive) into
// [from, to). maxDays > 0 bounds the span.
func dateRange(rq *request, maxDays int) (time.Time, time.Time, *apiError) {
	var from, to time.Time
	for _, f := range []struct {
		name string
		dst  *time.Time
		add  int
	}{{"start_date", &from, 0}, {"end_date", &to, 1}} {
		v := rq.q.Get(f.name)
		if v == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, v); err != nil {
				return from, to, badField(f.name, "invalid_date", "%s must be a date YYYY-MM-DD", f.name)
			}
			t = t.Truncate(24 * time.Hour)
		}
		*f.dst = t.AddDate(0, 0, f.add)
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return from, to, badField("end_date", "invalid_date", "end_date must not be before start_date")
	}
	if maxDays > 0 && !from.IsZero() && !to.IsZero() && to.Sub(from) > time.Duration(maxDays+1)*24*time.Hour {
		return from, to, badField("end_date", "invalid_date", "start_date and end_date must be at most %d days apart", maxDays)
	}
	return from, to, nil
}

func intParam(rq *request, name string, def int) (int, *apiError) {
	v := rq.q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100000 {
		return 0, badField(name, "invalid_"+name, "%s must be a positive integer", name)
	}
	return n, nil
}

// getStatement answers the account's balance movements between start_date
// and ending_date (at most 31 days apart; default the last 31 days) as the
// SDK's getAccountStatement does: {content}, a PDF in base64. end_date is
// accepted for ending_date, the name of the history endpoints.
func (s *Sandbox) getStatement(rq *request) (int, any, *apiError) {
	if v := rq.q.Get("ending_date"); v != "" {
		rq.q.Set("end_date", v)
	}
	from, to, e := dateRange(rq, 31)
	if e != nil {
		return 0, nil, e
	}
	if to.IsZero() {
		to = s.Now().Truncate(24*time.Hour).AddDate(0, 0, 1)
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -31)
	}
	if to.Sub(from) > 32*24*time.Hour {
		return 0, nil, badField("start_date", "invalid_date", "start_date and end_date must be at most 31 days apart")
	}
	lines := []string{
		"MassPay certified account statement (sandbox)",
		"Period: " + from.Format("2006-01-02") + " to " + to.AddDate(0, 0, -1).Format("2006-01-02"),
		"Time | Type | Amount | Currency | Balance | Notes | Client ID | User",
	}
	for _, r := range s.statement {
		t, _ := time.Parse(time.RFC3339, r.TimeOfTxn)
		if !t.Before(from) && t.Before(to) {
			lines = append(lines, strings.Join([]string{r.TimeOfTxn, r.Type, r.Amount.String(), r.CurrencyCode,
				r.Balance.String(), r.Notes, r.ClientTransferID, r.UserToken}, " | "))
		}
	}
	return http.StatusOK, masspay.PDFConfirmation{Content: base64.StdEncoding.EncodeToString(minimalPDF(lines))}, nil
}

// taxBalances answers, per user, the USD value of loads and payouts to the
// user in tax_year (default last year), for users at or above
// amount_threshold. tax_id is empty for users without an address, as it is
// for payees who never filed a tax form.
func (s *Sandbox) taxBalances(rq *request) (int, any, *apiError) {
	year, e := s.taxYear(rq)
	if e != nil {
		return 0, nil, e
	}
	threshold := decimal.Zero
	if v := rq.q.Get("amount_threshold"); v != "" {
		d, err := decimal.NewFromString(v)
		if err != nil || d.IsNegative() || d.GreaterThan(maxAmount) {
			return 0, nil, badField("amount_threshold", "invalid_amount", "amount_threshold must be a non-negative number")
		}
		threshold = d
	}
	sums := s.taxSums(year)
	out := []masspay.TaxYearUser{}
	for _, u := range s.userList {
		bal, ok := sums[u.UserToken]
		if !ok || !bal.IsPositive() || bal.LessThan(threshold) {
			continue
		}
		out = append(out, taxYearUser(u, bal.Round(2)))
	}
	return http.StatusOK, out, nil
}

// taxYearUser is u as the SDK's TaxYearUserResp with balance bal. The
// model's postal_code is a number: a postal code that is not one (SW1A 1AA,
// 01234) is left out rather than sent as text.
func taxYearUser(u *user, bal decimal.Decimal) masspay.TaxYearUser {
	t := masspay.TaxYearUser{UserToken: u.UserToken, InternalUserID: u.InternalUserID, FirstName: u.FirstName,
		MiddleName: u.MiddleName, LastName: u.LastName, BusinessName: u.BusinessName, Email: u.Email,
		MobileNumber: u.MobileNumber, DateOfBirth: u.DateOfBirth, Country: u.Country, Address1: u.Address1,
		Address2: u.Address2, City: u.City, StateProvince: u.StateProvince, Balance: bal}
	if pc := masspay.NumberText(u.PostalCode); pc.IsNumber() {
		t.PostalCode = pc
	}
	if u.Address1 != "" {
		h := sha256.Sum256([]byte(u.UserToken))
		t.TaxID = fmt.Sprintf("XXX-XX-%04d", (int(h[0])<<8|int(h[1]))%10000)
	}
	return t
}

// sortedBalances lists balances by currency. Callers hold s.mu.
func (s *Sandbox) sortedBalances() []*balance {
	out := make([]*balance, 0, len(s.balances))
	for _, b := range s.balances {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].currency < out[j].currency })
	return out
}
