package batch

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// amountProblems returns, per sheet line, the error messages about the
// amount column of the rows read from path.
func amountProblems(t *testing.T, path string, opts IngestOptions) (map[int][]string, []Row) {
	t.Helper()
	s := mustReadAll(t, path, opts)
	out := map[int][]string{}
	for _, r := range s.Rows {
		for _, p := range r.Problems {
			if p.Severity == SeverityError && p.Column == "amount" {
				out[p.Line] = append(out[p.Line], p.Message)
			}
		}
	}
	return out, s.Rows
}

// Finding 1 of issue 20: one "99,5" switched a comma-separated file to the
// decimal comma and "1,500" was paid as 1.50. Each ambiguous value must be
// refused with both readings.
func TestAmountOneDecimalCommaDoesNotRereadTheFile(t *testing.T) {
	path := writeFile(t, "mixed.csv", csvText(hdr,
		`T1,u1,A,B,a@b.co,USA,"1,500"`,
		`T2,u2,A,B,b@b.co,USA,"2,250"`,
		`T3,u3,A,B,c@b.co,USA,"1,200"`,
		`T4,u4,A,B,d@b.co,USA,"99,5"`))
	probs, rows := amountProblems(t, path, IngestOptions{})
	for line, want := range map[int][2]string{2: {"1500", "1.5"}, 3: {"2250", "2.25"}, 4: {"1200", "1.2"}} {
		msg := strings.Join(probs[line], "; ")
		if !strings.Contains(msg, want[0]) || !strings.Contains(msg, want[1]) {
			t.Errorf("row %d: problems %q, want both readings %s and %s", line, msg, want[0], want[1])
		}
	}
	if len(probs[5]) != 0 || !rows[3].Amount.Equal(decimal.RequireFromString("99.5")) {
		t.Errorf("row 5 (99,5): %v, amount %s", probs[5], rows[3].Amount)
	}
	// Told which mark, the file reads as told.
	_, rows = amountProblems(t, path, IngestOptions{DecimalMark: '.'})
	if !rows[0].Amount.Equal(decimal.RequireFromString("1500")) || len(rows[0].Problems) != 0 {
		t.Errorf("--decimal-mark .: row 2 = %s %v", rows[0].Amount, rows[0].Problems)
	}
	_, rows = amountProblems(t, path, IngestOptions{DecimalMark: ','})
	if !rows[0].Amount.Equal(decimal.RequireFromString("1.5")) {
		t.Errorf("--decimal-mark ,: row 2 = %s", rows[0].Amount)
	}
}

// "1.500" paid 1.50 in a comma-separated file and 1,500 in a semicolon one.
func TestAmountSameTextSameReadingWhateverTheDelimiter(t *testing.T) {
	comma := writeFile(t, "comma.csv", csvText(hdr, `T1,u1,A,B,a@b.co,USA,1.500`))
	semi := writeFile(t, "semi.csv", csvText(strings.ReplaceAll(hdr, ",", ";"), `T1;u1;A;B;a@b.co;USA;1.500`))
	for _, path := range []string{comma, semi} {
		probs, _ := amountProblems(t, path, IngestOptions{})
		msg := strings.Join(probs[2], "; ")
		if !strings.Contains(msg, "1500") || !strings.Contains(msg, "1.5") {
			t.Errorf("%s: problems %q, want both readings of 1.500", path, msg)
		}
		for m, want := range map[rune]string{'.': "1.5", ',': "1500"} {
			_, rows := amountProblems(t, path, IngestOptions{DecimalMark: m})
			if !rows[0].Amount.Equal(decimal.RequireFromString(want)) || len(rows[0].Problems) != 0 {
				t.Errorf("%s with mark %c: %s %v, want %s", path, m, rows[0].Amount, rows[0].Problems, want)
			}
		}
	}
}

// "1,234" alone was refused as "3 decimals": it is ambiguous, and read as
// told with a mark.
func TestAmountAloneAmbiguous(t *testing.T) {
	path := writeFile(t, "one.csv", csvText(hdr, `T1,u1,A,B,a@b.co,USA,"1,234"`))
	rep, err := ValidateFile(path, IngestOptions{}, ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, p := range rep.Problems {
		msgs = append(msgs, p.Message)
	}
	all := strings.Join(msgs, "; ")
	if strings.Contains(all, "decimals") || !strings.Contains(all, "1234") || !strings.Contains(all, "1.234") || !strings.Contains(all, "--decimal-mark") {
		t.Errorf("problems %q, want an ambiguity naming 1234, 1.234 and --decimal-mark", all)
	}
	rep, err = ValidateFile(path, IngestOptions{DecimalMark: '.'}, ValidateOptions{})
	if err != nil || !rep.OK() || !rep.Totals["USD"].Equal(decimal.RequireFromString("1234")) {
		t.Errorf("--decimal-mark .: %v %v %v", err, rep.Problems, rep.Totals)
	}
}

// Unambiguous values that disagree on the mark are one mistake naming both
// rows; neither is paid.
func TestAmountMixedMarksNameBothRows(t *testing.T) {
	path := writeFile(t, "mixed.csv", csvText(hdr,
		`T1,u1,A,B,a@b.co,USA,12.50`,
		`T2,u2,A,B,b@b.co,USA,7`,
		`T3,u3,A,B,c@b.co,USA,"99,5"`))
	probs, _ := amountProblems(t, path, IngestOptions{})
	if m := strings.Join(probs[4], "; "); !strings.Contains(m, "row 2") {
		t.Errorf("row 4: %q, want it to name row 2", m)
	}
	if m := strings.Join(probs[2], "; "); !strings.Contains(m, "row 4") {
		t.Errorf("row 2: %q, want it to name row 4", m)
	}
	if len(probs[3]) != 0 {
		t.Errorf("row 3: %v", probs[3])
	}
}

// XLSX numbers have no decimal mark; text cells in an XLSX follow the rule.
func TestAmountXLSXNumbersAndText(t *testing.T) {
	path := writeXLSX(t, "Sheet1", [][]any{
		{"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country", "amount", "source_currency"},
		{"T1", "u1", "A", "B", "a@b.co", "USA", num("1.234"), "BTC"},
		{"T2", "u2", "A", "B", "b@b.co", "USA", "1,500", "USD"},
	})
	probs, rows := amountProblems(t, path, IngestOptions{})
	if len(probs[2]) != 0 || !rows[0].Amount.Equal(decimal.RequireFromString("1.234")) {
		t.Errorf("numeric 1.234: %v %s", probs[2], rows[0].Amount)
	}
	if m := strings.Join(probs[3], "; "); !strings.Contains(m, "1500") || !strings.Contains(m, "1.5") {
		t.Errorf("text 1,500: %q", m)
	}
}

// The ledger's re-read of a row follows the same rule.
func TestAmountRowFromInputSameRule(t *testing.T) {
	_, err := RowFromInput([]InputField{{Header: "client_transfer_id", Value: "T"}, {Header: "amount", Value: "1,500"}})
	if err == nil || !strings.Contains(err.Error(), "1500") || !strings.Contains(err.Error(), "1.5") {
		t.Errorf("err = %v", err)
	}
}

// A text cell "1.500" in a workbook is text, with a mark to ask about; the
// number 1.5 is a number.
func TestAmountXLSXTextThatLooksLikeANumber(t *testing.T) {
	path := writeXLSX(t, "Sheet1", [][]any{
		{"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country", "amount"},
		{"T1", "u1", "A", "B", "a@b.co", "USA", "1.500"},
		{"T2", "u2", "A", "B", "b@b.co", "USA", num("1.5")},
	})
	probs, rows := amountProblems(t, path, IngestOptions{})
	if m := strings.Join(probs[2], "; "); !strings.Contains(m, "1500") || !strings.Contains(m, "1.5") {
		t.Errorf("text 1.500: %q (amount %s)", m, rows[0].Amount)
	}
	if len(probs[3]) != 0 || !rows[1].Amount.Equal(decimal.RequireFromString("1.5")) {
		t.Errorf("number 1.5: %v %s", probs[3], rows[1].Amount)
	}
	_, rows = amountProblems(t, path, IngestOptions{DecimalMark: ','})
	if !rows[0].Amount.Equal(decimal.RequireFromString("1500")) || rows[0].Input[6].Value != "1.500" {
		t.Errorf("text 1.500 with mark ,: %s, echoed %q", rows[0].Amount, rows[0].Input[6].Value)
	}
}
