// Package torture holds payrun's exactly-once evidence: tests that kill the
// real payrun binary at every named boundary of a row's life
// (ledger/faultpoint), run it against a faulty sandbox in another process,
// and simulate whole runs deterministically from a seed, checking after
// every scenario that no row was paid twice and none was left behind.
//
// `go test ./batch/torture/` runs a short version; `make torture SEEDS=N`
// runs the full enumeration and N simulation seeds. See README-section.md.
package torture
