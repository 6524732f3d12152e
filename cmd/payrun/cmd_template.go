package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/payrun/payrun/templates"
)

// TemplateCommand writes the blank payout sheet finance fills in.
type TemplateCommand struct{}

// Run writes the template. The file appears whole or not at all (temp file
// and rename), and an existing file is never replaced without --force, so a
// filled-in sheet cannot be wiped by a stray command.
func (c *TemplateCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("template", "[--kind payouts|autopay] [--format xlsx|csv] [--out FILE] [--force]")
	kind := fs.String("kind", "payouts", "payouts (the monthly payout sheet) or autopay (autopay rules for payout autopay apply)")
	format := fs.String("format", "", "xlsx or csv (default: from --out's extension, else xlsx)")
	out := fs.String("out", "", "file to write (default payout-template.<format>; - for standard output)")
	force := fs.Bool("force", false, "replace --out if it exists")
	hint := "payrun template --format xlsx --out payouts.xlsx"
	if err := m.parseFlags(fs, args, hint); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), Hint: hint}
	}
	f := strings.ToLower(strings.TrimPrefix(*format, "."))
	if f == "" {
		f = templates.FormatXLSX
		if ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(*out), ".")); ext == templates.FormatCSV {
			f = templates.FormatCSV
		}
	}
	tmpl, name := templates.Template, templates.FileName
	switch *kind {
	case "payouts", "payout":
	case "autopay":
		tmpl, name = templates.AutopayTemplate, templates.AutopayFileName
	default:
		return &UsageError{Err: fmt.Errorf("unknown template kind %q", *kind), Hint: "payrun template --kind autopay"}
	}
	data, err := tmpl(f)
	if err != nil {
		return &UsageError{Err: err, Hint: hint}
	}
	if *out == "-" {
		_, err := m.Stdout.Write(data)
		return err
	}
	path := *out
	if path == "" {
		path = name(f)
	}
	if err := writeNew(path, data, *force); err != nil {
		if errors.Is(err, os.ErrExist) {
			return &UsageError{Err: fmt.Errorf("%s already exists; not replacing it", path), Hint: "payrun template --out " + path + " --force"}
		}
		return &ExitError{Code: ExitUsage, Err: err}
	}
	fmt.Fprintf(m.Stdout, "wrote %s (%s template; fill in one row per payment, then: payrun plan %s)\n", path, f, path)
	return nil
}

// writeNew writes data to path through a temp file in the same directory.
// Without force it links the temp file into place, which fails atomically
// if path exists; with force it renames over it.
func writeNew(path string, data []byte, force bool) error {
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("write template: %w", os.ErrExist)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write template: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write template: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write template: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write template: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write template: %w", err)
	}
	if force {
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("write template: %w", err)
		}
		return nil
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("write template: %w", os.ErrExist)
		}
		return fmt.Errorf("write template: %w", err)
	}
	return nil
}
