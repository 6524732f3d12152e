package exports

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// ConfirmationsAPI is the part of MassPay that serves payout confirmations.
type ConfirmationsAPI interface {
	PayoutPDF(ctx context.Context, userToken, payoutToken string) ([]byte, error)
}

var _ ConfirmationsAPI = (*masspay.Client)(nil)

// ErrNotPDF means MassPay's confirmation was not a PDF document.
var ErrNotPDF = errors.New("confirmation is not a PDF")

// ConfirmationOptions tune DownloadConfirmations.
type ConfirmationOptions struct {
	// Workers is the number of downloads at once (default 4).
	Workers int
	// Overwrite downloads again a confirmation already in the directory;
	// by default it is kept, so a re-run fetches only what is missing.
	Overwrite bool
}

// ConfirmationsResult is what DownloadConfirmations did.
type ConfirmationsResult struct {
	Written  []string // files written
	Skipped  int      // already there
	Problems []reconcile.RowProblem
}

// ConfirmationFileName is the file a row's confirmation is saved as: its
// client_transfer_id, with characters unsafe in a file name replaced; when
// anything was replaced a short hash of the id keeps two ids from sharing
// a file.
func ConfirmationFileName(id string) string {
	var b strings.Builder
	changed := false
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
			changed = true
		}
	}
	name := strings.TrimLeft(b.String(), ".")
	if changed || name != b.String() || name == "" {
		sum := sha256.Sum256([]byte(id))
		name += "-" + hex.EncodeToString(sum[:4])
	}
	return name + ".pdf"
}

// DownloadConfirmations saves the PDF confirmation of every completed payout
// of run runID into dir as <client_transfer_id>.pdf. Each file is written
// atomically, so an interrupted download never leaves half a PDF. A row that
// fails is listed in Problems; only the end of ctx or an authentication
// failure stops the rest.
func DownloadConfirmations(ctx context.Context, api ConfirmationsAPI, l *ledger.Ledger, runID int64, dir string, opts ConfirmationOptions) (ConfirmationsResult, error) {
	var res ConfirmationsResult
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("create confirmations directory: %w", err)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = 4
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	var listErr error
	for row, err := range l.Rows(ctx, ledger.RowFilter{RunID: runID, States: []ledger.State{ledger.StatePaid}}) {
		if err != nil {
			listErr = fmt.Errorf("list paid rows: %w", err)
			break
		}
		if row.PayoutToken == "" || !reconcile.SettledPaid(row.Status()) || gctx.Err() != nil {
			continue
		}
		path := filepath.Join(dir, ConfirmationFileName(row.ID))
		if !opts.Overwrite {
			if _, err := os.Stat(path); err == nil {
				mu.Lock()
				res.Skipped++
				mu.Unlock()
				continue
			}
		}
		g.Go(func() error {
			err := savePDF(gctx, api, row, path)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				res.Written = append(res.Written, path)
				return nil
			}
			if errors.Is(err, masspay.ErrUnauthorized) {
				return err
			}
			res.Problems = append(res.Problems, reconcile.RowProblem{ClientTransferID: row.ID, Err: err.Error()})
			return nil
		})
	}
	err := g.Wait()
	if err == nil {
		err = listErr
	}
	if err == nil {
		err = ctx.Err()
	}
	sort.Strings(res.Written)
	sort.Slice(res.Problems, func(i, j int) bool { return res.Problems[i].ClientTransferID < res.Problems[j].ClientTransferID })
	if err != nil {
		return res, fmt.Errorf("download confirmations: %w", err)
	}
	return res, nil
}

func savePDF(ctx context.Context, api ConfirmationsAPI, row ledger.Row, path string) error {
	pdf, err := api.PayoutPDF(ctx, row.UserToken, row.PayoutToken)
	if err != nil {
		return fmt.Errorf("fetch confirmation of %s: %w", row.PayoutToken, err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return fmt.Errorf("fetch confirmation of %s: %w", row.PayoutToken, ErrNotPDF)
	}
	return results.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(pdf)
		return err
	})
}
