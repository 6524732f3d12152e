package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// logger builds the command's logger: console lines on a terminal, JSON lines
// otherwise (cron) or into --log-file (opened for append).
//
// It first installs the configuration file (see config.go) under m.Getenv, so
// everything the command reads afterwards honours it.
func (m *Main) logger(f logFlags) (zerolog.Logger, func(), error) {
	if _, err := m.useConfig(f.config); err != nil {
		return zerolog.Nop(), nil, err
	}
	f.level = firstNonEmpty(f.level, m.Getenv("PAYRUN_LOG_LEVEL"))
	f.file = firstNonEmpty(f.file, m.Getenv("PAYRUN_LOG_FILE"))
	lvl, err := zerolog.ParseLevel(firstNonEmpty(f.level, "info"))
	if err != nil {
		return zerolog.Nop(), nil, &UsageError{Err: fmt.Errorf("parse log level: %w", err), Hint: "--log-level info"}
	}
	var w io.Writer = m.Stderr
	closer := func() {}
	if f.file != "" {
		fh, err := os.OpenFile(f.file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return zerolog.Nop(), nil, fmt.Errorf("open log file: %w", err)
		}
		w, closer = fh, func() { fh.Close() }
	} else if m.isTerminal(m.Stderr) {
		w = zerolog.ConsoleWriter{Out: m.Stderr, TimeFormat: time.Kitchen}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), closer, nil
}

// runIDHook adds run_id to every log line once set, so the lines of loggers
// derived before the run began (the MassPay client's) carry it too.
type runIDHook struct{ id atomic.Int64 }

func (h *runIDHook) set(id int64) { h.id.Store(id) }

// Run implements zerolog.Hook.
func (h *runIDHook) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	if id := h.id.Load(); id != 0 {
		e.Int64("run_id", id)
	}
}
