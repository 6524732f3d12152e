package main

import (
	"context"
	"errors"
)

// LedgerCommand is not built yet.
type LedgerCommand struct{}

// Run reports that the command is not built yet.
func (c *LedgerCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
