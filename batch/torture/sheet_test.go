package torture

import (
	"encoding/csv"
	"fmt"
	"os"
	"testing"

	"github.com/shopspring/decimal"
)

// outcome is what a sheet row must end as, whatever crashed on the way.
type outcome int

const (
	wantPaid        outcome = iota // exactly one committed payout
	wantLoaded                     // exactly one load
	wantNeedsAction                // nothing paid: KYC hold or missing detail
)

// kind is one flavour of sheet row.
type kind int

const (
	kLoad kind = iota
	kBankUSA
	kGCash
	kBTC
	kETH
	kUSDT
	kMEX
	kKYC     // payee on a compliance hold: NEEDS_ACTION, never paid
	kMissing // routing number left out: NEEDS_ACTION, never paid
)

var header = []string{"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country", "method",
	"amount", "source_currency", "destination_currency", "delivery_type", "payer_name",
	"attr:BankAccountNumber", "attr:BankRoutingNumber", "attr:PhoneNumber", "attr:WalletAddress", "notes"}

// sheet is a generated payment sheet and what each of its rows must end as.
type sheet struct {
	path   string
	want   map[string]outcome
	amount map[string]decimal.Decimal
}

// safeCents avoids the sandbox's magic cents (.13 to .16).
var safeCents = []string{"00", "25", "50", "75", "07", "42", "99"}

// writeSheet writes a CSV of the given row kinds. Ids and payees carry tag,
// so several scenarios can share one sandbox without meeting each other.
func writeSheet(t testing.TB, path, tag string, kinds []kind) sheet {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	_ = w.Write(header)
	sh := sheet{path: path, want: map[string]outcome{}, amount: map[string]decimal.Decimal{}}
	for i, k := range kinds {
		id := fmt.Sprintf("%s-%05d", tag, i+1)
		// Every fifth row pays a payee of an earlier row, so per-payee
		// serialisation and the user cache are on the crash path too.
		uid := fmt.Sprintf("%s-u%05d", tag, i+1)
		if i%5 == 4 && k != kKYC {
			uid = fmt.Sprintf("%s-u%05d", tag, i)
		}
		amt := fmt.Sprintf("%d.%s", 20+i%180, safeCents[i%len(safeCents)])
		email := uid + "@example.com"
		rec := map[string]string{"client_transfer_id": id, "internal_user_id": uid, "first_name": "Ana", "last_name": "Reyes" + uid[len(uid)-3:],
			"email": email, "amount": amt, "source_currency": "USD", "method": "payout", "notes": "torture"}
		want := wantPaid
		switch k {
		case kLoad:
			rec["country"], rec["method"] = "USA", "load"
			want = wantLoaded
		case kBankUSA, kKYC, kMissing:
			rec["country"], rec["destination_currency"], rec["delivery_type"] = "USA", "USD", "BANK_DEPOSIT"
			rec["attr:BankAccountNumber"], rec["attr:BankRoutingNumber"] = "1234567890", "021000021"
			if k == kKYC {
				rec["internal_user_id"] = tag + "-kyc"
				rec["email"] = tag + "-kyc@kyc-hold.example"
				want = wantNeedsAction
			}
			if k == kMissing {
				rec["attr:BankRoutingNumber"] = ""
				want = wantNeedsAction
			}
		case kGCash:
			rec["country"], rec["destination_currency"], rec["delivery_type"], rec["payer_name"] = "PHL", "PHP", "MOBILE_WALLET", "GCash"
			rec["attr:PhoneNumber"] = "+639171234567"
		case kBTC:
			rec["country"], rec["destination_currency"], rec["delivery_type"], rec["payer_name"] = "PHL", "BTC", "CRYPTOCURRENCY", "Bitcoin"
			rec["attr:WalletAddress"] = "bc1qv5hnv8nlke7rr396haxdjkk9updfkeycftwzse"
		case kETH, kUSDT:
			rec["country"], rec["destination_currency"], rec["delivery_type"], rec["payer_name"] = "PHL", "ETH", "CRYPTOCURRENCY", "Ethereum"
			if k == kUSDT {
				rec["destination_currency"], rec["payer_name"] = "USDT", "Tether USDT"
			}
			rec["attr:WalletAddress"] = "0x1ad007f92130e2b90c7a8437537134c502f3355e"
		case kMEX:
			rec["country"], rec["destination_currency"], rec["delivery_type"] = "MEX", "MXN", "BANK_DEPOSIT"
			rec["attr:BankAccountNumber"] = "012345678901234567"
		}
		row := make([]string, len(header))
		for j, h := range header {
			row[j] = rec[h]
		}
		_ = w.Write(row)
		sh.want[id] = want
		sh.amount[id] = decimal.RequireFromString(amt)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return sh
}

// mix50 is the enumeration sheet: loads, direct payouts, crypto, one KYC
// hold, one missing attribute.
func mix50() []kind {
	ks := make([]kind, 0, 50)
	cycle := []kind{kLoad, kBankUSA, kBTC, kLoad, kGCash, kETH, kBankUSA, kUSDT, kLoad, kMEX}
	for len(ks) < 48 {
		ks = append(ks, cycle[len(ks)%len(cycle)])
	}
	return append(ks, kKYC, kMissing)
}

// mixN is a sheet of n rows of every kind, without magic NEEDS_ACTION rows
// past the first two, for the scale scenarios.
func mixN(n int) []kind {
	ks := mix50()
	for len(ks) < n {
		ks = append(ks, ks[len(ks)%48])
	}
	return ks[:n]
}
