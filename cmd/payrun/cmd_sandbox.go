package main

import (
	"context"
	"errors"
)

// SandboxCommand is not built yet.
type SandboxCommand struct{}

// Run reports that the command is not built yet.
func (c *SandboxCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
