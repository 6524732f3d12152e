package main

import (
	"context"
	"errors"
)

// InboxCommand is not built yet.
type InboxCommand struct{}

// Run reports that the command is not built yet.
func (c *InboxCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
