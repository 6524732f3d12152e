package main

import (
	"context"
	"errors"
)

// AutopayCommand is not built yet.
type AutopayCommand struct{}

// Run reports that the command is not built yet.
func (c *AutopayCommand) Run(ctx context.Context, m *Main, args []string) error {
	return &ExitError{Code: ExitUsage, Err: errors.New("this command is not built yet")}
}
