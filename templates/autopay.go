package templates

//go:generate go run ./genautopay -dir .

import (
	"embed"
	"fmt"
)

//go:embed autopay-rules-template.xlsx autopay-rules-template.csv
var autopayFiles embed.FS

// AutopayFileName is the autopay rules template's file name for a format.
func AutopayFileName(format string) string { return "autopay-rules-template." + format }

// AutopayTemplate returns the blank autopay rules sheet in format (xlsx or
// csv): one row per payee and route, read by `payrun autopay apply`.
func AutopayTemplate(format string) ([]byte, error) {
	switch format {
	case FormatXLSX, FormatCSV:
		return autopayFiles.ReadFile(AutopayFileName(format))
	}
	return nil, fmt.Errorf("autopay template format %q: want xlsx or csv", format)
}
