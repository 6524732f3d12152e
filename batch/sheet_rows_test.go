package batch

import (
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
			rep, err := ValidateFile(path, IngestOptions{}, ValidateOptions{})
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
	if rep, err := ValidateFile(path, IngestOptions{}, ValidateOptions{}); err != nil || !rep.OK() {
		t.Errorf("a payee named Total: %v %v", err, rep.Problems)
	}
}
