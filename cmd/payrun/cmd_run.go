package main

import (
	"context"
	"errors"
)

// RunCommand is not built yet.
type RunCommand struct{}

// Run reports that the command is not built yet.
func (c *RunCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
