package plural

import "testing"

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		noun string
		want string
	}{
		{0, "row", "0 rows"}, {1, "row", "1 row"}, {2, "row", "2 rows"}, {-1, "row", "-1 row"},
		{1, "currency", "1 currency"}, {3, "currency", "3 currencies"}, {2, "day", "2 days"},
		{2, "batch", "2 batches"}, {2, "mistake", "2 mistakes"}, {1, "mistake", "1 mistake"},
		{2, "address", "2 addresses"}, {2, "sheet", "2 sheets"}, {10000, "warning", "10000 warnings"},
	} {
		if got := Count(tc.n, tc.noun); got != tc.want {
			t.Errorf("Count(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.want)
		}
	}
}

func TestVerbAndNoun(t *testing.T) {
	if got := Count(1, "row") + " " + Verb(1, "needs", "need"); got != "1 row needs" {
		t.Errorf("got %q", got)
	}
	if got := Count(2, "row") + " " + Verb(2, "needs", "need"); got != "2 rows need" {
		t.Errorf("got %q", got)
	}
	if got := Noun(0, "payee"); got != "payees" {
		t.Errorf("Noun(0, payee) = %q", got)
	}
}
