package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/payrun/payrun/ledger"
)

// osAccount names the OS account running payrun, user@host. It is what
// maker-checker trusts on the command line, where --as is only a claim;
// tests replace it, as one test process cannot log in as two people.
var osAccount = operator

// osAccountNote prefixes the OS account in the note payrun plan records
// with each plan's event ("OS account alice@host").
const osAccountNote = "OS account "

// preparerOSAccount returns the OS account that recorded plan id through
// payrun plan, or "" when none was recorded (a plan prepared in the web
// console, whose preparer is a signed-in console user, not an OS account).
func preparerOSAccount(ctx context.Context, l *ledger.Ledger, id int64) (string, error) {
	for ev, err := range l.Events(ctx, ledger.EventFilter{Kind: ledger.EventPlan}) {
		if err != nil {
			return "", fmt.Errorf("read plan events: %w", err)
		}
		var d struct {
			PlanID int64  `json:"plan_id"`
			Action string `json:"action"`
			Note   string `json:"note"`
		}
		if json.Unmarshal(ev.Data, &d) != nil || d.PlanID != id || d.Action != "prepare" {
			continue
		}
		if acct, ok := strings.CutPrefix(d.Note, osAccountNote); ok {
			return acct, nil
		}
		return "", nil
	}
	return "", nil
}

// checkApproverAccount refuses an approval of plan id from the OS account
// that prepared it, whatever name --as gives (who): otherwise one person
// could prepare as bob and approve as carol, and maker-checker would check
// nothing. allowSelf (allow_self_approval, a team of one) lets it through.
func checkApproverAccount(ctx context.Context, l *ledger.Ledger, id int64, who string, allowSelf bool) error {
	if allowSelf {
		return nil
	}
	prep, err := preparerOSAccount(ctx, l, id)
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	if acct := osAccount(); prep != "" && strings.EqualFold(prep, acct) {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s may not approve plan %d from OS account %s: that account prepared it, and --as does not change who is at the keyboard; someone else must approve it from their own account (or set allow_self_approval = true in payrun.toml for a team of one)",
			who, id, acct)}
	}
	return nil
}

// recordDecider records who decided plan id under both names: the one given
// (--as, else the OS user) and the OS account that ran the command, which
// the CLI can vouch for.
func recordDecider(ctx context.Context, l *ledger.Ledger, id int64, verb, who string) {
	acct := osAccount()
	data, _ := json.Marshal(map[string]any{"plan_id": id, "action": verb, "user": who, "os_account": acct})
	_, _ = l.AppendEvent(context.WithoutCancel(ctx), ledger.Event{Kind: ledger.EventApproval, Data: data,
		Message: fmt.Sprintf("plan %d %s as %q from OS account %s", id, verb, who, acct)})
}
