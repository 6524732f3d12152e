package main

import (
	"context"
	"errors"
)

// ReconcileCommand is not built yet.
type ReconcileCommand struct{}

// Run reports that the command is not built yet.
func (c *ReconcileCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
