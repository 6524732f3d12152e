// Package alert tells people what a payment run, the webhook receiver and
// reconcile found, without anyone reading a log: finance and ops by email
// (SMTP) and by a JSON webhook (Slack, Teams), payees and the compliance
// mailbox by a KYC notice carrying the document-upload link.
//
// It owns the alert channels (Email, Webhook), the messages (a run's digest
// of rows needing a person, a status flip, a balance difference, a KYC
// notice, the test alerts) and the rule that each alert is sent once per
// channel: every send is claimed in the ledger before it leaves and marked
// after (ledger.ClaimAlert), so a re-run, a second receiver or the next
// inbox tick sends nothing twice, and a crash between sending and recording
// re-sends at most once.
//
// Alerts never decide a run's outcome: a channel that fails is retried with
// back-off and then recorded as failed (the next run tries again); the error
// is logged, never returned to the payment code.
//
// It may import batch and batch/results (for run and reconcile results),
// ledger and the standard library plus its mail library; batch and ledger
// must not import it. cmd/payrun wires it in at the end of run, inbox,
// reconcile and webhook.
package alert
