// Package pricing prices a sheet before it is paid (payrun plan, the
// console's plans, and the plan a run shows before it starts): balances
// once, one route query per distinct route, fees and shortfalls, and,
// read-only, which payout rows will need payee details. It asks MassPay
// through the same batch/routing checks the runner's quote step applies,
// so a plan predicts what a run will find; it does not go through the
// runner's steps, which record and send requests, so it is its own package
// (batch's TestPlanNamesRowsMissingPayoutDetails holds the two together).
//
// It moves no money and creates nothing. It may import batch/sheet,
// batch/routing and batch/results below it, and ledger and masspay; the
// runner's package (for its tests), cmd/payrun and the console use it.
// batch/layers_test.go holds the order.
package pricing
