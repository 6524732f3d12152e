package exports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// Payee is a payee an export is about: the platform's id and, once found,
// MassPay's user_token ("" when MassPay does not know the payee).
type Payee struct {
	InternalUserID string
	UserToken      string
}

// PayeeLookupAPI finds payees in MassPay. *masspay.Client satisfies it.
type PayeeLookupAPI interface {
	LookupUser(ctx context.Context, p masspay.LookupUserParams) (*masspay.FoundUser, error)
}

// WalletsAPI lists a payee's wallets. *masspay.Client satisfies it.
type WalletsAPI interface {
	Wallets(ctx context.Context, userToken string) ([]masspay.Wallet, error)
}

// KnownPayees returns every payee the ledger has a user_token for (the
// payees of its rows), sorted by internal_user_id.
func KnownPayees(ctx context.Context, l *ledger.Ledger) ([]Payee, error) {
	seen := map[string]string{}
	for r, err := range l.Rows(ctx, ledger.RowFilter{}) {
		if err != nil {
			return nil, fmt.Errorf("read ledger rows: %w", err)
		}
		if r.InternalUserID != "" && r.UserToken != "" {
			seen[r.InternalUserID] = r.UserToken
		}
	}
	out := make([]Payee, 0, len(seen))
	for id, tok := range seen {
		out = append(out, Payee{InternalUserID: id, UserToken: tok})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InternalUserID < out[j].InternalUserID })
	return out, nil
}

// ResolvePayees finds the user_token of each internal_user_id: from the
// ledger's user cache (l may be nil), else by lookup. A payee MassPay does
// not know is returned with an empty UserToken. Order and duplicates follow
// ids minus repeats.
func ResolvePayees(ctx context.Context, api PayeeLookupAPI, l *ledger.Ledger, ids []string) ([]Payee, error) {
	var out []Payee
	done := map[string]bool{}
	for _, id := range ids {
		if id == "" || done[id] {
			continue
		}
		done[id] = true
		tok, err := PayeeToken(ctx, api, l, id)
		if err != nil {
			return nil, err
		}
		out = append(out, Payee{InternalUserID: id, UserToken: tok})
	}
	return out, nil
}

// PayeeToken is the user_token of internal_user_id id: from the ledger's
// user cache (l may be nil), else by lookup; "" when MassPay does not know
// the payee. Autopay resolves its payees with it too.
func PayeeToken(ctx context.Context, api PayeeLookupAPI, l *ledger.Ledger, id string) (string, error) {
	if l != nil {
		tok, ok, err := l.UserToken(ctx, id)
		if err != nil {
			return "", fmt.Errorf("read user cache: %w", err)
		}
		if ok {
			return tok, nil
		}
	}
	found, err := api.LookupUser(ctx, masspay.LookupUserParams{InternalUserID: id})
	if errors.Is(err, masspay.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up payee %s: %w", id, err)
	}
	return found.UserToken, nil
}

// SheetPayees returns the distinct internal_user_id values of any sheet that
// has that column (a payout sheet, an autopay rules sheet), in sheet order.
func SheetPayees(path string, opts ingest.IngestOptions) ([]string, error) {
	isUserCol := func(h string) bool { k, _ := sheet.MatchHeader(h); return k == sheet.ColInternalUserID }
	rs, err := ingest.OpenRawSheet(path, opts, func(cells []string) bool {
		for _, c := range cells {
			if isUserCol(c) {
				return true
			}
		}
		return false
	}, func(string) bool { return false })
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	col := -1
	for i, h := range rs.Header {
		if isUserCol(h) {
			col = i
			break
		}
	}
	var ids []string
	seen := map[string]bool{}
	for {
		_, cells, err := rs.Next()
		if err == io.EOF {
			return ids, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", rs.Name, err)
		}
		if col < len(cells) {
			if id := strings.TrimSpace(cells[col]); id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
}

// WalletRow is one wallet of one payee; a payee without wallets (or unknown
// to MassPay) gets one row with only Note set.
type WalletRow struct {
	Payee
	Wallet masspay.Wallet
	Note   string
}

// ListWallets lists every wallet of payees, in their order.
func ListWallets(ctx context.Context, api WalletsAPI, payees []Payee) ([]WalletRow, error) {
	var out []WalletRow
	for _, p := range payees {
		if p.UserToken == "" {
			out = append(out, WalletRow{Payee: p, Note: "not known to MassPay"})
			continue
		}
		ws, err := api.Wallets(ctx, p.UserToken)
		if err != nil {
			return nil, fmt.Errorf("list wallets of %s: %w", p.InternalUserID, err)
		}
		if len(ws) == 0 {
			out = append(out, WalletRow{Payee: p, Note: "no wallet yet (MassPay opens one with the first load)"})
		}
		for _, w := range ws {
			out = append(out, WalletRow{Payee: p, Wallet: w})
		}
	}
	return out, nil
}

// walletRecord is one line of the wallets export.
type walletRecord struct {
	InternalUserID results.Cell `csv:"internal_user_id"`
	UserToken      results.Cell `csv:"user_token"`
	WalletToken    results.Cell `csv:"wallet_token"`
	Currency       results.Cell `csv:"currency"`
	Balance        results.Cell `csv:"balance"`
	Type           results.Cell `csv:"type"`
	Active         results.Cell `csv:"active"`
	FeesPaidBy     results.Cell `csv:"fees_paid_by"`
	Note           results.Cell `csv:"note"`
}

// WalletColumns are the columns of the wallets export.
var WalletColumns = results.RecordHeader[walletRecord]()

// WriteWallets writes rows to path, as CSV when it ends in .csv and XLSX
// otherwise, atomically. It returns the paths written.
func WriteWallets(path string, rows []WalletRow) ([]string, error) {
	text := results.TextCell
	recs := make([]walletRecord, 0, len(rows))
	for _, r := range rows {
		w := r.Wallet
		rec := walletRecord{InternalUserID: text(r.InternalUserID), UserToken: text(r.UserToken), Note: text(r.Note)}
		if w.Token != "" {
			fees := "payee"
			if w.ClientPayingFees {
				fees = "client"
			}
			rec.WalletToken, rec.Currency = text(w.Token), text(w.CurrencyCode)
			rec.Balance = results.AmountCell(decimal.NewNullDecimal(w.Balance), w.CurrencyCode)
			rec.Type, rec.Active, rec.FeesPaidBy = text(w.Type), text(yesNo(w.Active)), text(fees)
		}
		recs = append(recs, rec)
	}
	t := results.RecordTable("Wallets", recs, "No payees to list.")
	return results.WriteTables(path, results.ExportFormatOf(path), []results.Table{t})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
