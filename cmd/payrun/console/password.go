package console

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// ReadPassword reads a new password for a console user: from in, one line,
// asked twice with echo off when in is a terminal (prompts go to out), once
// otherwise (a pipe or a file). It refuses a password HashPassword would.
func ReadPassword(in io.Reader, out io.Writer, terminal bool, user string) (string, error) {
	br := bufio.NewReader(in)
	readLine := func(prompt string) (string, error) {
		if terminal {
			fmt.Fprint(out, prompt)
			// On a real terminal x/term reads with echo off, on every
			// system it supports; anything else echoes, and says so.
			if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				b, err := term.ReadPassword(int(f.Fd()))
				fmt.Fprintln(out)
				if err != nil {
					return "", fmt.Errorf("read password: %w", err)
				}
				return strings.TrimRight(string(b), "\r\n"), nil
			}
			fmt.Fprint(out, "(visible) ")
		}
		line, err := br.ReadString('\n')
		if terminal {
			fmt.Fprintln(out)
		}
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("read password: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	pw, err := readLine("Password for " + user + ": ")
	if err != nil {
		return "", err
	}
	if len(pw) < MinPasswordLength || len(pw) > 72 {
		return "", ErrWeakPassword
	}
	if terminal {
		again, err := readLine("Again: ")
		if err != nil {
			return "", err
		}
		if again != pw {
			return "", errors.New("read password: the two passwords differ")
		}
	}
	return pw, nil
}
