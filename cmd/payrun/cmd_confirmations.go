package main

import (
	"context"
	"errors"
)

// ConfirmationsCommand is not built yet.
type ConfirmationsCommand struct{}

// Run reports that the command is not built yet.
func (c *ConfirmationsCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
