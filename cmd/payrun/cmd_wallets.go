package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/payrun/payrun/batch/exports"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// WalletsCommand lists payees' wallets: balance, currency, type, whether it
// is active and who pays the fees.
type WalletsCommand struct {
	env   payeeEnv
	sheet string
	out   string
}

const walletsUsage = "[--user ID]... [--sheet FILE] [--out FILE.xlsx|FILE.csv]"

// Run lists the wallets.
func (c *WalletsCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("wallets", walletsUsage)
	c.env.register(fs)
	fs.StringVar(&c.sheet, "sheet", "", "list the payees of this sheet (a payout or autopay rules sheet)")
	fs.StringVar(&c.out, "out", "", "write the list to this XLSX or CSV file instead of printing it")
	hint := "payrun wallets --user freelancer-0001 --out wallets.xlsx"
	if err := m.parseFlags(fs, args, hint); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return &UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), Hint: hint}
	}
	s, err := c.env.open(ctx, m, false)
	if err != nil {
		return err
	}
	defer s.close()
	payees, err := s.payees(ctx, c.sheet)
	if err != nil {
		return err
	}
	rows, err := exports.ListWallets(ctx, s.conn.Client, payees)
	if err != nil {
		return exportFailure("list wallets", err)
	}
	if c.out != "" {
		paths, err := exports.WriteWallets(c.out, rows)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.humanOut(), "Wrote %s of %s to %s\n", plural.Count(countWallets(rows), "wallet"), plural.Count(len(payees), "payee"), strings.Join(paths, ", "))
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(exports.WalletColumns, "\t"))
	for _, r := range rows {
		w := r.Wallet
		if w.Token == "" {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t%s\n", r.InternalUserID, r.UserToken, r.Note)
			continue
		}
		fees := "payee"
		if w.ClientPayingFees {
			fees = "client"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%t\t%s\t%s\n", r.InternalUserID, r.UserToken, w.Token, w.CurrencyCode,
			w.Balance.StringFixed(decimalsFor(w.CurrencyCode)), w.Type, w.Active, fees, r.Note)
	}
	return tw.Flush()
}

func countWallets(rows []exports.WalletRow) int {
	n := 0
	for _, r := range rows {
		if r.Wallet.Token != "" {
			n++
		}
	}
	return n
}

// payeeEnv is what the wallets, autopay and tax commands share: MassPay, the
// logging flags, the ledger (for its user cache and known payees) and the
// --user selection.
type payeeEnv struct {
	api        apiFlags
	logs       logFlags
	ledgerPath string
	users      []string
}

func (e *payeeEnv) register(fs *flag.FlagSet) {
	e.api.register(fs)
	e.logs.register(fs)
	ledgerFlag(fs, &e.ledgerPath)
	fs.Func("user", "a payee's internal_user_id (repeat, or separate with commas); default: every payee the ledger knows", func(v string) error {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				e.users = append(e.users, id)
			}
		}
		return nil
	})
}

// payeeSession is an open MassPay connection and, when there is one, the
// ledger.
type payeeSession struct {
	conn   *apiConn
	ledger *ledger.Ledger // nil when the ledger file does not exist
	users  []string
	close  func()
}

// open connects to MassPay and opens the ledger: read-only for exports (the
// file may be in use by a run), read-write and locked for writers, which
// record events in it.
func (e *payeeEnv) open(ctx context.Context, m *Main, write bool) (*payeeSession, error) {
	log, closeLog, err := m.logger(e.logs)
	if err != nil {
		return nil, err
	}
	s := &payeeSession{users: e.users}
	closers := []func(){closeLog}
	s.close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	path := m.defaultLedger(e.ledgerPath, e.api.sandbox)
	if statErr := statLedger(path); statErr == nil || write {
		l, err := ledger.Open(ctx, path, ledger.Options{ReadOnly: !write})
		if err != nil {
			s.close()
			return nil, &ExitError{Code: ExitAborted, Err: fmt.Errorf("open ledger %s: %w", path, err)}
		}
		s.ledger = l
		closers = append(closers, func() { l.Close() })
		if write {
			lock, err := l.Lock(ctx, ledger.LockOwner{Command: "payrun autopay apply"})
			if err != nil {
				s.close()
				return nil, &ExitError{Code: ExitAborted, Err: fmt.Errorf("lock ledger %s: %w", path, err)}
			}
			closers = append(closers, func() { lock.Release() })
			// On PostgreSQL a run holds no lock: its run lease shows it.
			if err := runInProgress(ctx, l, path, false, "apply the rules once it is over"); err != nil {
				s.close()
				return nil, err
			}
		}
	}
	conn, err := m.openAPI(ctx, e.api, log, path)
	if err != nil {
		s.close()
		return nil, err
	}
	s.conn = conn
	closers = append(closers, conn.Close)
	return s, nil
}

// payees resolves the payees to list: --user, else the payees of sheet, else
// every payee the ledger knows.
func (s *payeeSession) payees(ctx context.Context, sheet string) ([]exports.Payee, error) {
	ids := s.users
	if sheet != "" {
		more, err := exports.SheetPayees(sheet, ingest.IngestOptions{})
		if err != nil {
			return nil, &UsageError{Err: err, Hint: "payrun wallets --sheet samples/monthly-freelancers.xlsx"}
		}
		ids = append(ids, more...)
	}
	if len(ids) == 0 && sheet == "" {
		if s.ledger == nil {
			return nil, &UsageError{Err: errors.New("no payees: the ledger does not exist yet and no --user or --sheet was given"),
				Hint: "payrun wallets --user freelancer-0001"}
		}
		ps, err := exports.KnownPayees(ctx, s.ledger)
		if err != nil {
			return nil, err
		}
		return ps, nil
	}
	ps, err := exports.ResolvePayees(ctx, s.conn.Client, s.ledger, ids)
	if err != nil {
		return nil, exportFailure("look up payees", err)
	}
	return ps, nil
}

// exportFailure classifies a MassPay failure: a refused key aborts (exit 3),
// anything else needs attention (exit 1).
func exportFailure(what string, err error) error {
	if errors.Is(err, masspay.ErrUnauthorized) {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("%s: MassPay refused the API key: %w", what, err)}
	}
	return &ExitError{Code: ExitAttention, Err: fmt.Errorf("%s: %w", what, err)}
}

// printProblems prints sheet problems one per line, as payrun run does.
func printProblems(w io.Writer, ps sheet.Problems) {
	for _, p := range ps {
		fmt.Fprintln(w, p.String())
	}
}
