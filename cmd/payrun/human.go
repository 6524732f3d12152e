package main

import (
	"errors"
	"flag"
	"io"

	"github.com/rs/zerolog"
)

// humanOut is where payrun writes lines meant for a person (the plan, the
// sheet's mistakes, "Stopping: ...", "Interrupted ..."): stderr on a
// terminal, beside the progress bar; otherwise stdout, with the summaries.
// Under cron or systemd stderr then carries only JSON log lines, which a
// log shipper parses line by line.
func (m *Main) humanOut() io.Writer {
	if m.isTerminal(m.Stderr) {
		return m.Stderr
	}
	return m.Stdout
}

// printError tells how a command failed, as main's last words: "payrun:
// ..." and "Try: ..." on a terminal, one JSON log line (message, hint,
// exit) otherwise, so stderr stays all JSON.
func (m *Main) printError(err error) {
	if err == nil || errors.Is(err, flag.ErrHelp) || errors.Is(err, errSilent) {
		return
	}
	var ue *UsageError
	hint := ""
	if errors.As(err, &ue) {
		hint = ue.Hint
	}
	if m.isTerminal(m.Stderr) {
		io.WriteString(m.Stderr, "payrun: "+err.Error()+"\n")
		if hint != "" {
			io.WriteString(m.Stderr, "Try: "+hint+"\n")
		}
		return
	}
	log := zerolog.New(m.Stderr).With().Timestamp().Logger()
	ev := log.Error().Int("exit", ExitCode(err))
	if hint != "" {
		ev = ev.Str("hint", hint)
	}
	ev.Msg("payrun: " + err.Error())
}
