// Package torture holds payrun's exactly-once evidence: tests that kill the
// real payrun binary at every named boundary of a row's life
// (ledger/faultpoint), run it against a faulty sandbox in another process,
// simulate whole runs deterministically from a seed, and put a hostile proxy
// between payrun and the sandbox (hostile_test.go), checking after every
// scenario that no row was paid twice, none was left behind, and the ledger
// agrees with MassPay's audit view.
//
// `go test ./batch/torture/` runs a short version; `make torture SEEDS=N`
// runs the full enumeration and N simulation seeds. See README-section.md.
//
// It holds tests only and may import anything below it (batch, its
// sub-packages, ledger, masspay); nothing imports it.
package torture
