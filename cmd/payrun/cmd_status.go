package main

import (
	"context"
	"errors"
)

// StatusCommand is not built yet.
type StatusCommand struct{}

// Run reports that the command is not built yet.
func (c *StatusCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
