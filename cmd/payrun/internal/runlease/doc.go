// Package runlease holds a runner's run lease on a PostgreSQL ledger
// (ledger.HoldRunLease) and renews it until the run ends. A run there
// holds no ledger lock: payrun run on several hosts shares a run's rows
// through row claims, and the run lease is how whatever must not run
// beside a run (payrun autopay apply, the inbox's probe, a console's Pay
// button) sees it in progress, and how a console tells a run whose runner
// died from one still paying.
//
// payrun run (the inbox's runs included) and the console both hold their
// leases through Hold, so the protocol has one implementation.
package runlease
