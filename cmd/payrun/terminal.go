package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"
)

// isTerminal reports whether w is an interactive terminal.
func (m *Main) isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirm asks a yes/no question on a terminal; without one it refuses and
// points at withYes, the same command with --yes, so cron never waits on a
// prompt.
func (m *Main) confirm(ctx context.Context, q, withYes string) (bool, error) {
	if !m.isTerminal(m.Stdin) {
		return false, &UsageError{Err: errors.New("not on a terminal, so cannot ask for confirmation"), Hint: withYes}
	}
	fmt.Fprint(m.Stderr, q)
	// A signal while the question waits is a no: reading a terminal is
	// not interrupted by the context, so the answer is awaited beside it.
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(m.Stdin).ReadString('\n')
		answer <- line
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(m.Stderr)
		return false, nil
	case line := <-answer:
		a := strings.ToLower(strings.TrimSpace(line))
		return a == "y" || a == "yes", nil
	}
}
