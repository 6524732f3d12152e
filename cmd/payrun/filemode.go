package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/payrun/payrun/batch/results"
)

// fileModeFlag is --results-mode: the permissions of the results and plan
// workbooks, in octal. Unset, they are results.DefaultFileMode (0600, like the
// ledger), because they hold payees' names, bank details and KYC links; a
// team that shares them through a group sets 0640 on purpose.
type fileModeFlag struct{ mode os.FileMode }

// String shows the mode in octal, as it is typed.
func (f *fileModeFlag) String() string {
	if f == nil || f.mode == 0 {
		return fmt.Sprintf("%04o", results.DefaultFileMode)
	}
	return fmt.Sprintf("%04o", f.mode)
}

// Set parses an octal mode such as 0600 or 640; only permission bits.
func (f *fileModeFlag) Set(s string) error {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n == 0 || n&^0o777 != 0 {
		return fmt.Errorf("parse results mode %q: want octal permissions such as 0600 or 0640", s)
	}
	f.mode = os.FileMode(n)
	return nil
}

// resultsModeUsage is the flag's help text, shared by run, report and plan.
const resultsModeUsage = "permissions of the results and plan files, in octal (default 0600: they hold payee data)"
