package main

import (
	"context"
	"errors"
)

// ApproveCommand is not built yet.
type ApproveCommand struct{}

// Run reports that the command is not built yet.
func (c *ApproveCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
