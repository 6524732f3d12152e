package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/payrun/payrun/ledger"
)

// A ledger is a SQLite file or, given as a postgres:// URL, a PostgreSQL
// database (see ledger.Open). These helpers keep the file-system habits of
// the first (a folder to create, files beside it) away from the second.

// ledgerSibling is a file kept beside the ledger: the ledger file's name
// with its extension replaced by suffix. A PostgreSQL ledger has no folder,
// so its siblings go in the current directory as "payrun"+suffix.
func ledgerSibling(ledgerPath, suffix string) string {
	if ledger.IsPostgresURL(ledgerPath) {
		return "payrun" + suffix
	}
	return strings.TrimSuffix(ledgerPath, filepath.Ext(ledgerPath)) + suffix
}

// makeLedgerDir creates the folder of a ledger file (0700); a PostgreSQL
// ledger needs none.
func makeLedgerDir(ledgerPath string) error {
	if ledger.IsPostgresURL(ledgerPath) {
		return nil
	}
	return os.MkdirAll(filepath.Dir(ledgerPath), 0o700)
}

// ledgerExists reports whether there is a ledger to open without creating
// one. A PostgreSQL ledger counts as existing: its database is made by its
// administrator, and opening it creates its tables.
func ledgerExists(ledgerPath string) bool {
	if ledger.IsPostgresURL(ledgerPath) {
		return true
	}
	_, err := os.Stat(ledgerPath)
	return err == nil
}

// statLedger is os.Stat's error for a ledger file, so commands that need an
// existing ledger can tell a mistyped path from an empty ledger. A
// PostgreSQL ledger's database is there to connect to (its absence is
// Open's error).
func statLedger(ledgerPath string) error {
	if ledger.IsPostgresURL(ledgerPath) {
		return nil
	}
	_, err := os.Stat(ledgerPath)
	return err
}
