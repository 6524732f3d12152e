package batch

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const limitsHeader = "client_transfer_id,internal_user_id,first_name,last_name,email,country,amount"

// A sheet of 200,000 columns is refused when it is read, naming the first
// column past the limit; it used to pass, and writing its results after
// payment hung.
func TestOpenRefusesTooManyColumns(t *testing.T) {
	var b strings.Builder
	b.WriteString(limitsHeader)
	for i := 8; i <= 200_000; i++ {
		fmt.Fprintf(&b, ",c%d", i)
	}
	b.WriteString("\r\nL-1,u-1,Ana,Diaz,ana@example.com,MEX,10.00\r\n")
	path := writeFile(t, "wide.csv", []byte(b.String()))
	_, err := ValidateFile(path, IngestOptions{}, ValidateOptions{Now: testNow})
	if !errors.Is(err, ErrTooManyColumns) {
		t.Fatalf("ValidateFile = %v, want ErrTooManyColumns", err)
	}
	want := fmt.Sprintf("column %d (%q)", MaxInputColumns+1, fmt.Sprintf("c%d", MaxInputColumns+1))
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
}

// A data row with more cells than payrun can echo is a mistake of that row,
// named by row and column, and its cells are not kept past the limit.
func TestValidateRowWithTooManyCells(t *testing.T) {
	row := "L-1,u-1,Ana,Diaz,ana@example.com,MEX,10.00" + strings.Repeat(",x", MaxInputColumns+10)
	path := writeFile(t, "row.csv", csvText(limitsHeader, row, "L-2,u-2,Bo,Li,bo@example.com,MEX,5.00"))
	rep, err := ValidateFile(path, IngestOptions{}, ValidateOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	var found *Problem
	for i, p := range rep.Problems {
		if p.Rule == "too_many_columns" {
			found = &rep.Problems[i]
		}
	}
	if found == nil || found.Line != 2 || found.Column != colLetter(MaxInputColumns) {
		t.Fatalf("problems = %v, want too_many_columns on row 2, column %s", rep.Problems, colLetter(MaxInputColumns))
	}
	s := mustReadAll(t, path, IngestOptions{})
	if n := len(s.Rows[0].Input); n > MaxInputColumns {
		t.Errorf("row keeps %d input cells, over %d", n, MaxInputColumns)
	}
}

// A NUL (or any control character) in an id, and cells over their column's
// size, are refused at validation with the row and the column named. The
// NUL row used to stay pending forever, the 10 MB name to fail at MassPay
// with 431.
func TestValidateControlCharactersAndCellSizes(t *testing.T) {
	big := strings.Repeat("n", 10<<20)
	path := writeFile(t, "cells.csv", csvText(limitsHeader,
		"L-1\x00x,u-1,Ana,Diaz,ana@example.com,MEX,10.00",
		"L-2,u-2\x1b,Bo,Li,bo@example.com,MEX,5.00",
		"L-3,u-3,"+big+",Li,bo3@example.com,MEX,5.00",
		"L-4,u-4,Cy,Li,"+strings.Repeat("e", 300)+"@example.com,MEX,5.00",
		"L-5,u-5,Di,Li,di@example.com,MEX,5.00",
	))
	rep, err := ValidateFile(path, IngestOptions{}, ValidateOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Problem{}
	for _, p := range rep.Problems {
		got[fmt.Sprintf("%d %s %s", p.Line, p.Column, p.Rule)] = p
	}
	for _, want := range []string{
		"2 client_transfer_id control_character",
		"3 internal_user_id control_character",
		"4 first_name too_long",
		"5 email too_long",
	} {
		if _, ok := got[want]; !ok {
			t.Errorf("no problem %q; got %v", want, rep.Problems)
		}
	}
	for k, p := range got {
		if strings.HasPrefix(k, "6 ") {
			t.Errorf("the good row has a problem: %v", p)
		}
		if len(p.Value) > 200 || len(p.Message) > 300 {
			t.Errorf("problem %s carries %d bytes of value, %d of message; a huge cell must not be echoed whole", k, len(p.Value), len(p.Message))
		}
	}
}

// Writing the results of a sheet as wide as the limit takes seconds, not
// the hours a per-column width call that grows with the columns took, and
// a cancelled context (SIGTERM) stops it.
func TestResultsOfWideSheet(t *testing.T) {
	headers := []string{"client_transfer_id", "amount"}
	for len(headers) < MaxInputColumns {
		headers = append(headers, fmt.Sprintf("c%d", len(headers)))
	}
	src := &sliceSource{run: ResultsRun{ID: 1, SheetName: "wide.csv", StartedAt: testNow}}
	for i := range 20 {
		in := make([]InputField, len(headers))
		for j, h := range headers {
			in[j] = InputField{Header: h, Value: "v"}
		}
		in[0].Value, in[1].Value = fmt.Sprintf("W-%d", i), "1.00"
		src.rows = append(src.rows, ResultRow{SheetLine: i + 2, ClientTransferID: in[0].Value, Input: in,
			Amount: dec("1.00"), SourceCurrency: "USD", State: "PAID"})
	}
	write := func(ctx context.Context, path string) (time.Duration, error) {
		done := make(chan error, 1)
		start := time.Now()
		go func() { _, err := WriteResultsFrom(ctx, src, path, ResultsOptions{}); done <- err }()
		select {
		case err := <-done:
			return time.Since(start), err
		case <-time.After(90 * time.Second):
			t.Fatalf("writing the results of %d columns did not end in 90 s", len(headers))
			return 0, nil
		}
	}
	dir := t.TempDir()
	took, err := write(context.Background(), filepath.Join(dir, "wide.results.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d columns x %d rows written in %v", len(headers), len(src.rows), took)
	f := openBook(t, filepath.Join(dir, "wide.results.xlsx"))
	if rows := rawRows(t, f, SheetResults); len(rows) != 21 || len(rows[0]) != len(headers)-2+len(ResultColumns) {
		// The sheet's id and amount are payrun's first columns, not echoed.
		t.Errorf("results have %d rows of %d columns", len(rows), len(rows[0]))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	took, err = write(ctx, filepath.Join(dir, "cancelled.xlsx"))
	if !errors.Is(err, context.Canceled) || took > 5*time.Second {
		t.Errorf("cancelled write = %v after %v, want context.Canceled at once", err, took)
	}
}
