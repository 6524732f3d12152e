// Package sandbox is an embedded MassPay payout API v1.0.0 simulator.
//
// It serves the wire contract of ../../shared/masspay-api.md under
// /v1.0.0/payout/... with real state (balances, users, routes, attributes,
// wallets, loads, payouts, autopay rules), a clock that tests control, magic
// values that trigger the failures a real payment API produces, injectable
// transport faults (latency, 5xx, 429, lost responses), signed webhooks, and an
// audit view (/_sandbox/audit) that proves nothing was paid twice.
//
// A Sandbox is an http.Handler; a Server is a Sandbox listening on a TCP
// address. SCENARIOS.md lists the magic values and fault settings.
package sandbox
