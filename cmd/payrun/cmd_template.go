package main

import (
	"context"
	"errors"
)

// TemplateCommand is not built yet.
type TemplateCommand struct{}

// Run reports that the command is not built yet.
func (c *TemplateCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
