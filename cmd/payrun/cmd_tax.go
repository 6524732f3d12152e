package main

import (
	"context"
	"errors"
)

// TaxCommand is not built yet.
type TaxCommand struct{}

// Run reports that the command is not built yet.
func (c *TaxCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
