// Package alerttest runs the receiving side of payrun's alert channels in a
// test process: an SMTP server (go-smtp) that needs TLS and records what it
// receives, and an HTTP webhook receiver that can fail on demand.
//
// It may import ledger and the standard library plus its SMTP library, and
// nothing else under batch; only tests import it.
package alerttest
