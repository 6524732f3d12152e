package main

import (
	"context"
	"errors"
)

// PlanCommand is not built yet.
type PlanCommand struct{}

// Run reports that the command is not built yet.
func (c *PlanCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
