package ingest

import (
	"github.com/payrun/payrun/batch/validate"
	"strings"
	"testing"
)

// Finding 7 of issue 20: a "Total" row under the payments gave five
// separate "is empty" errors. It is one mistake that says what it is.
func TestTotalRowIsOneMistake(t *testing.T) {
	for name, line := range map[string]string{
		"label in the id column":      `Total,,,,,,3000.00`,
		"label in the country column": `,,,,,TOTAL:,3000.00`,
		"grand total":                 `,,Grand total,,,,3000.00`,
	} {
		t.Run(name, func(t *testing.T) {
			path := writeFile(t, "june.csv", csvText(hdr,
				`T1,u1,Ana,Silva,a@b.co,USA,1000.00`,
				`T2,u2,Ben,Okoro,b@b.co,USA,2000.00`,
				line))
			rep, err := ValidateFile(path, IngestOptions{}, validate.ValidateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range rep.Problems {
				got = append(got, p.String())
			}
			if len(rep.Problems) != 1 || rep.Problems[0].Line != 4 || !strings.Contains(rep.Problems[0].Message, "looks like a total row") {
				t.Errorf("problems:\n%s\nwant one, on row 4, saying it looks like a total row", strings.Join(got, "\n"))
			}
		})
	}
	// A payee who happens to be called Total is paid like anyone else.
	path := writeFile(t, "june.csv", csvText(hdr, `T1,u1,Total,Silva,a@b.co,USA,1000.00`))
	if rep, err := ValidateFile(path, IngestOptions{}, validate.ValidateOptions{}); err != nil || !rep.OK() {
		t.Errorf("a payee named Total: %v %v", err, rep.Problems)
	}
}

// Finding 7 of issue 20: an amount formula a program wrote without
// calculating it read "amount is empty", and =1000/3 "has 12 decimals",
// with no word about the formula or ROUND.
func TestAmountFormulas(t *testing.T) {
	path := writeXLSX(t, "Sheet1", [][]any{
		{"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country", "amount"},
		{"T1", "u1", "A", "B", "a@b.co", "USA", formula{"1000/3", ""}},
		{"T2", "u2", "A", "B", "b@b.co", "USA", formula{"1000/3", "333.333333333333"}},
		{"T3", "u3", "A", "B", "c@b.co", "USA", formula{"ROUND(1000/3,2)", "333.33"}},
	})
	rep, err := ValidateFile(path, IngestOptions{}, validate.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byLine := map[int][]string{}
	for _, p := range rep.Problems {
		byLine[p.Line] = append(byLine[p.Line], p.Message)
	}
	if m := strings.Join(byLine[2], "; "); len(byLine[2]) != 1 || !strings.Contains(m, "formula") || !strings.Contains(m, "never calculated") {
		t.Errorf("row 2 (uncalculated formula): %q", m)
	}
	if m := strings.Join(byLine[3], "; "); len(byLine[3]) != 1 || !strings.Contains(m, "formula") || !strings.Contains(m, "ROUND(") || !strings.Contains(m, "USD allows 2") {
		t.Errorf("row 3 (=1000/3): %q", m)
	}
	if len(byLine[4]) != 0 {
		t.Errorf("row 4 (ROUND): %v", byLine[4])
	}
}
