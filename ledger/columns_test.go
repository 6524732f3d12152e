package ledger

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The fast decoder of the input columns must agree with encoding/json on
// everything it accepts, and accept what marshalColumns writes for plain text.

func TestDecodeColumnsFast(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want []Column
	}{
		{`[]`, true, []Column{}},
		{`[["a","1"]]`, true, []Column{{Header: "a", Value: "1"}}},
		{`[["amount","12.50"],["note",""],["",""]]`, true, []Column{{Header: "amount", Value: "12.50"}, {Header: "note", Value: ""}, {Header: "", Value: ""}}},
		{`[["José","東京"]]`, true, []Column{{Header: "José", Value: "東京"}}},
		{`[["a","x\"y"]]`, false, nil},   // an escape: encoding/json decodes it
		{`[["a","\u003c"]]`, false, nil}, // as json.Marshal writes <
		{`[["a","1"] ]`, false, nil},
		{`[["a","1"],]`, false, nil},
		{`[["a"]]`, false, nil},
		{`[["a","1"]]x`, false, nil},
		{`null`, false, nil},
		{`[`, false, nil},
		{`[["a","1`, false, nil},
	} {
		got, ok := decodeColumnsFast(tc.in)
		if ok != tc.ok || (ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("decodeColumnsFast(%s) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	// Round trip through the writer, escapes and all.
	cols := []Column{{Header: "a<b", Value: "x&y"}, {Header: "quote\"", Value: "back\\slash"}, {Header: "tab\t", Value: "line\nbreak"}, {Header: "plain", Value: "12.00"},
		{Header: "invoice_date", Value: "46266", Format: "yyyy-mm-dd"}} // a number format rides along
	s, err := marshalColumns(cols)
	if err != nil {
		t.Fatal(err)
	}
	back, err := unmarshalColumns(s)
	if err != nil || !reflect.DeepEqual(back, cols) {
		t.Fatalf("round trip of %s: %v, %v", s, back, err)
	}
}

func FuzzDecodeColumnsFast(f *testing.F) {
	for _, s := range []string{`[]`, `[["a","1"]]`, `[["a","1"],["b","2"]]`, `[["a","\"1"]]`, `[["a",1]]`, `[["\xff","1"]]`, `[[ "a","1"]]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := decodeColumnsFast(s)
		if !ok {
			return
		}
		var want []Column
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("fast decoder accepted %q, encoding/json refuses it: %v", s, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: fast %v, encoding/json %v", s, got, want)
		}
	})
}
