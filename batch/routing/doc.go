// Package routing reads MassPay's answers about one payee's route the same
// way for the runner, the planner and autopay, so a plan predicts what a
// run will find and an autopay rule is checked as a payout would be:
// whether a route pays a currency (Pays), which of a route's required payee
// details a row's attr: columns fill (MatchAttributes), and a MassPay error
// as the line a person reads in results and autopay reports (ErrorText).
//
// It holds no state and makes no calls. It imports only masspay; the
// runner (batch), batch/pricing and batch/autopay use it. batch/layers_test.go holds the order.
package routing
