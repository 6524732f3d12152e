package main

import (
	"context"
	"errors"
)

// ConfigCommand is not built yet.
type ConfigCommand struct{}

// Run reports that the command is not built yet.
func (c *ConfigCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
