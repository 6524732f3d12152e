package ingest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/batch/validate"
	"github.com/shopspring/decimal"
)

var update = flag.Bool("update", false, "rewrite golden files")

var testNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// good is a valid row in the column order of ruleHeader.
var ruleHeader = []string{"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country", "method", "amount",
	"source_currency", "destination_currency", "amount_is", "delivery_type", "destination_token", "time_to_process", "autopay_percentage", "notify_user"}

func goodRow(id string) map[string]string {
	return map[string]string{"client_transfer_id": id, "internal_user_id": "u-" + id, "first_name": "Ana", "last_name": "Silva",
		"email": "ana." + strings.ToLower(id) + "@example.com", "country": "BRA", "method": "load", "amount": "100.00", "source_currency": "USD"}
}

// ruleCase is one validation rule: rows (edits of goodRow) and the rules
// expected on each line (header is line 1).
type ruleCase struct {
	name  string
	rows  []map[string]string
	opts  validate.ValidateOptions
	want  map[int][]string // line -> rules, errors and warnings
	match string           // a substring one problem's message must contain
}

func edit(id string, kv ...string) map[string]string {
	r := goodRow(id)
	for i := 0; i < len(kv); i += 2 {
		r[kv[i]] = kv[i+1]
	}
	return r
}

func decPtr(s string) *decimal.Decimal { d := decimal.RequireFromString(s); return &d }

var ruleCases = []ruleCase{
	{name: "clean", rows: []map[string]string{goodRow("A")}, want: map[int][]string{}},
	{name: "required", rows: []map[string]string{edit("A", "email", "", "first_name", " ", "amount", "")},
		want: map[int][]string{2: {"required", "required", "required"}}, match: "email is empty"},
	// internal_user_id kept short: its own limit is MassPay's 50 too.
	{name: "id too long", rows: []map[string]string{edit(strings.Repeat("x", 51), "internal_user_id", "u-long")}, want: map[int][]string{2: {"id_too_long"}}, match: "51 characters"},
	{name: "id 50 ok", rows: []map[string]string{edit(strings.Repeat("x", 50), "internal_user_id", strings.Repeat("u", 50))}, want: map[int][]string{}},
	{name: "duplicate id", rows: []map[string]string{goodRow("A"), goodRow("B"), edit("A", "email", "other@example.com")},
		want: map[int][]string{2: {"duplicate_id"}, 4: {"duplicate_id"}}, match: "also used on row 4"},
	{name: "bad email", rows: []map[string]string{edit("A", "email", "ana@example"), edit("B", "email", "Ana <ana@example.com>"), edit("C", "email", "ana example.com")},
		want: map[int][]string{2: {"bad_email"}, 3: {"bad_email"}, 4: {"bad_email"}}},
	{name: "countries", rows: []map[string]string{edit("A", "country", "MX"), edit("B", "country", "Mexico"), edit("C", "country", "côte d'ivoire"), edit("D", "country", "Narnia")},
		want: map[int][]string{5: {"bad_country"}}, match: `"Narnia" is not a country`},
	{name: "currencies", rows: []map[string]string{edit("A", "source_currency", "usd"), edit("B", "source_currency", "XYZ"), edit("C", "source_currency", "BTC", "amount", "0.00012345")},
		want: map[int][]string{3: {"bad_currency"}}},
	{name: "decimals", rows: []map[string]string{edit("A", "amount", "12.3456"), edit("B", "source_currency", "JPY", "amount", "100.5"),
		edit("C", "source_currency", "KWD", "amount", "0.125"), edit("D", "source_currency", "BTC", "amount", "0.123456789"), edit("E", "amount", "12.3000")},
		want: map[int][]string{2: {"too_many_decimals"}, 3: {"too_many_decimals"}, 5: {"too_many_decimals"}}, match: `"12.3456" has 4 decimals; USD allows 2`},
	{name: "amount sign and text", rows: []map[string]string{edit("A", "amount", "-5"), edit("B", "amount", "0"), edit("C", "amount", "ten")},
		want: map[int][]string{2: {"amount_not_positive"}, 3: {"amount_not_positive"}, 4: {"bad_amount"}}, match: `"ten" is not a number`},
	{name: "symbols", rows: []map[string]string{edit("A", "amount", "$1,200.00"), edit("B", "amount", "€50")},
		want: map[int][]string{2: {"currency_symbol"}, 3: {"currency_symbol", "currency_mismatch"}}, match: "written in EUR"},
	{name: "method", rows: []map[string]string{edit("A", "method", "wire"), edit("B", "method", "", "delivery_type", "BANK_DEPOSIT"), edit("C", "method", "")},
		want: map[int][]string{2: {"bad_method"}, 3: {"method_missing"}}},
	{name: "payout routes", rows: []map[string]string{
		edit("A", "method", "payout", "country", "MEX", "delivery_type", "BANK_DEPOSIT", "destination_currency", "MXN"),
		edit("B", "method", "payout", "destination_token", "dst_123"),
		edit("C", "method", "payout", "country", "MEX"),
		edit("D", "method", "payout", "country", "MEX", "delivery_type", "bank deposit"),
		edit("E", "method", "payout", "delivery_type", "TELEPORT", "destination_currency", "MXN", "country", "MEX"),
	}, want: map[int][]string{4: {"default_destination_currency", "payout_route"}, 5: {"default_destination_currency"}, 6: {"bad_delivery_type"}}, match: "using MXN, the currency of MEX"},
	{name: "crypto", rows: []map[string]string{
		edit("A", "method", "payout", "country", "USA", "delivery_type", "CRYPTOCURRENCY", "destination_currency", "BTC"),
		edit("B", "method", "payout", "country", "USA", "destination_currency", "ETH"),
		edit("C", "method", "payout", "country", "USA", "delivery_type", "CRYPTOCURRENCY", "destination_currency", "USD"),
		edit("D", "method", "payout", "country", "USA", "delivery_type", "CRYPTOCURRENCY"),
		edit("E", "method", "payout", "country", "USA", "delivery_type", "BANK_DEPOSIT", "destination_currency", "USDT"),
	}, want: map[int][]string{3: {"default_delivery_type"}, 4: {"crypto_currency"}, 5: {"required"}, 6: {"crypto_delivery"}}},
	{name: "amount_is", rows: []map[string]string{
		edit("A", "method", "payout", "country", "MEX", "delivery_type", "CASH_PICKUP", "destination_currency", "MXN", "amount_is", "destination", "amount", "1000.50"),
		edit("B", "amount_is", "destination"), edit("C", "amount_is", "both"),
	}, want: map[int][]string{3: {"bad_amount_is"}, 4: {"bad_amount_is"}}},
	{name: "time_to_process", rows: []map[string]string{edit("A", "time_to_process", "2026-07-01 09:00"), edit("B", "time_to_process", "2026-06-01T09:00:00Z"),
		edit("C", "time_to_process", "next tuesday"), edit("D", "time_to_process", "46300")},
		want: map[int][]string{3: {"time_in_past"}, 4: {"bad_time"}}},
	{name: "caps", rows: []map[string]string{edit("A", "amount", "600"), edit("B", "amount", "500"), edit("C", "amount", "900", "source_currency", "EUR")},
		opts: validate.ValidateOptions{MaxAmount: decPtr("800"), MaxTotal: decPtr("1000")},
		want: map[int][]string{0: {"max_total"}, 4: {"max_amount"}}, match: "the USD rows add up to 1100"},
	{name: "double entry", rows: []map[string]string{goodRow("A"), edit("B", "internal_user_id", "u-A", "email", "ana.a@example.com")},
		want: map[int][]string{3: {"possible_double_entry"}}},
	{name: "percent and bool", rows: []map[string]string{edit("A", "autopay_percentage", "150"), edit("B", "notify_user", "maybe"), edit("C", "autopay_percentage", "50%", "notify_user", "yes")},
		want: map[int][]string{2: {"bad_percentage"}, 3: {"bad_bool"}}},
}

// writeRuleSheet writes the case's rows as CSV or as XLSX (all cells text,
// amounts as numbers where they are plain) and returns the path.
func writeRuleSheet(t *testing.T, c ruleCase, format Format) string {
	if format == FormatCSV {
		var b strings.Builder
		b.WriteString(strings.Join(ruleHeader, ",") + "\n")
		for _, r := range c.rows {
			cells := make([]string, len(ruleHeader))
			for i, h := range ruleHeader {
				v := r[h]
				if strings.ContainsAny(v, ",\"\n") {
					v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
				}
				cells[i] = v
			}
			b.WriteString(strings.Join(cells, ",") + "\n")
		}
		return writeFile(t, "rules.csv", []byte(b.String()))
	}
	rows := [][]any{{}}
	for _, h := range ruleHeader {
		rows[0] = append(rows[0], h)
	}
	for _, r := range c.rows {
		var cells []any
		for _, h := range ruleHeader {
			v := r[h]
			if _, err := decimal.NewFromString(v); err == nil && h == "amount" && !strings.ContainsAny(v, "eE") {
				cells = append(cells, num(v))
			} else {
				cells = append(cells, v)
			}
		}
		rows = append(rows, cells)
	}
	return writeXLSX(t, "Payouts", rows)
}

func TestValidateRules(t *testing.T) {
	for _, c := range ruleCases {
		for _, format := range []Format{FormatCSV, FormatXLSX} {
			t.Run(c.name+"/"+string(format), func(t *testing.T) {
				opts := c.opts
				opts.Now = testNow
				rep, err := ValidateFile(writeRuleSheet(t, c, format), IngestOptions{Location: time.UTC}, opts)
				if err != nil {
					t.Fatal(err)
				}
				got := map[int][]string{}
				for _, p := range rep.Problems {
					got[p.Line] = append(got[p.Line], p.Rule)
				}
				if fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("problems by line = %v, want %v\n%s", got, c.want, listProblems(rep.Problems))
				}
				if c.match != "" && !strings.Contains(listProblems(rep.Problems), c.match) {
					t.Errorf("no problem says %q:\n%s", c.match, listProblems(rep.Problems))
				}
			})
		}
	}
}

func listProblems(ps sheet.Problems) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

// TestScientificNotationCSV: a CSV amount in scientific notation is refused
// (in an XLSX, 1E3 is a number cell and Excel shows 1000, so it is read so).
func TestScientificNotationCSV(t *testing.T) {
	p := writeFile(t, "sci.csv", csvText(hdr, "T1,u1,A,B,a@b.co,USA,1E3"))
	rep, err := ValidateFile(p, IngestOptions{}, validate.ValidateOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	want := `sci.csv row 2, column "amount": "1E3" is in scientific notation; write the plain number` + "\n"
	if got := listProblems(rep.Problems); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestValidateHeaderProblems(t *testing.T) {
	p := writeFile(t, "hdr.csv", csvText("client_transfer_id,user id,first_name,last_name,email,Email Address,amount", "T1,u1,A,B,a@b.co,x@y.co,5"))
	rep, err := ValidateFile(p, IngestOptions{}, validate.ValidateOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	want := "hdr.csv row 1, column \"Email Address\": column email appears twice (columns E and F); keep one\n" +
		"hdr.csv row 1, column \"country\": required column country is missing from the header\n"
	if got := listProblems(rep.Problems); got != want {
		t.Errorf("got:\n%swant:\n%s", got, want)
	}
}

// TestSamples checks every committed sample: the good ones validate without
// a single error or warning, and the mistakes sheet reads exactly as its
// golden file (the text `payrun plan samples/mistakes.csv` prints).
func TestSamples(t *testing.T) {
	for _, name := range []string{"monthly-freelancers.xlsx", "monthly-freelancers.csv", "crypto-payouts.csv"} {
		rep, err := ValidateFile(filepath.Join("..", "..", "samples", name), IngestOptions{}, validate.ValidateOptions{Now: testNow})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rep.Problems) != 0 {
			t.Errorf("%s has problems:\n%s", name, listProblems(rep.Problems))
		}
		t.Logf("%s: %d rows, totals %v", name, rep.Rows, rep.Totals)
		if name == "monthly-freelancers.xlsx" && (rep.Rows < 190 || rep.Totals["USD"].GreaterThan(decimal.NewFromInt(1_000_000))) {
			t.Errorf("%s: %d rows, USD total %s", name, rep.Rows, rep.Totals["USD"])
		}
	}
	// The XLSX and the CSV carry the same payments.
	x := mustReadAll(t, "../../samples/monthly-freelancers.xlsx", IngestOptions{})
	c := mustReadAll(t, "../../samples/monthly-freelancers.csv", IngestOptions{})
	if len(x.Rows) != len(c.Rows) {
		t.Fatalf("xlsx has %d rows, csv %d", len(x.Rows), len(c.Rows))
	}
	for i := range x.Rows {
		if x.Rows[i].Fingerprint() != c.Rows[i].Fingerprint() {
			t.Fatalf("row %d differs between the xlsx and the csv", x.Rows[i].Line)
		}
	}

	rep, err := ValidateFile("../../samples/mistakes.csv", IngestOptions{Location: time.UTC}, validate.ValidateOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	got := listProblems(rep.Problems)
	golden := filepath.Join("testdata", "mistakes.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("mistakes.csv problems differ from %s (go test -run TestSamples -update):\ngot:\n%swant:\n%s", golden, got, want)
	}
	if rep.OK() {
		t.Error("mistakes.csv validated OK")
	}
}
