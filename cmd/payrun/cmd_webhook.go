package main

import (
	"context"
	"errors"
)

// WebhookCommand is not built yet.
type WebhookCommand struct{}

// Run reports that the command is not built yet.
func (c *WebhookCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
