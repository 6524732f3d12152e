package main

import (
	"context"
	"errors"
)

// WalletsCommand is not built yet.
type WalletsCommand struct{}

// Run reports that the command is not built yet.
func (c *WalletsCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
