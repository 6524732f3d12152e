package main

import (
	"context"
	"errors"
)

// HistoryCommand is not built yet.
type HistoryCommand struct{}

// Run reports that the command is not built yet.
func (c *HistoryCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
