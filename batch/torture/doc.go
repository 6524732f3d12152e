// Package torture holds payrun's exactly-once evidence: tests that kill the
// real payrun binary at every named boundary of a row's life
// (ledger/faultpoint), run it against a faulty sandbox in another process,
// simulate whole runs deterministically from a seed, put a hostile proxy
// between payrun and the sandbox (hostile_test.go), and kill one of two
// runners sharing a PostgreSQL ledger at each of its boundaries while the
// other goes on (postgres_test.go; internal/pgtest provides the server, and
// TestMain stops it through pgtest.Main), checking after every
// scenario that no row was paid twice, none was left behind, and the ledger
// agrees with MassPay's audit view.
//
// `go test ./batch/torture/` runs a short version; `make torture SEEDS=N`
// runs the full enumeration and N simulation seeds. See "Exactly once, tested
// by breaking it" in README.md.
//
// It holds tests only and may import anything below it (batch, its
// sub-packages, ledger, masspay); nothing imports it.
package torture
