package main

import (
	"context"
	"errors"
)

// ReportCommand is not built yet.
type ReportCommand struct{}

// Run reports that the command is not built yet.
func (c *ReportCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
