// Package flow decides how many rows a run works on at once.
//
// A Limiter is a window over the rows in flight. Fixed pins it (payrun run
// --workers N); New makes it adaptive, the default: like TCP Vegas and
// Netflix's concurrency-limits, it grows the window while MassPay's answers
// come back about as fast as the fastest seen lately, and shrinks it when
// they slow down (requests queue, at MassPay or in the client's own token
// bucket) or when MassPay answers 429. No one has to guess a number of
// workers: a slow MassPay with a strict rate limit gets a small window, a
// fast one without a limit a large one, bounded by Max (--max-workers).
//
// The controller sees every HTTP attempt through Observe (the masspay
// client's Observer feeds it); it works in rounds of about one window's worth
// of answers. Per round it takes the median latency, including the time
// the request waited for the client's token bucket, and compares it with the
// smallest round median of MassPay's own answer time (the wait left out) of
// the last 30 seconds (minimum-RTT filter, so a MassPay that became slower
// for good is learnt within that time):
//
//   - a 429 in the round: window x 0.7 (at most once per tenth of a second or two
//     round trips, since one overload answers many requests at once);
//   - median above Tolerance (3) x the minimum: window x (0.5 + 0.5 g), where
//     g = Tolerance x minimum / median, at least 0.5;
//   - the window grew last round, the new rows were in flight, and answers
//     came less than 10% faster: take the growth back and hold the window
//     for four rounds (the bottleneck is not MassPay: the ledger's disk,
//     this machine's CPU, an in-process sandbox);
//   - otherwise, when at least half the window was in use: double the
//     window until the first of those signals (slow start), afterwards add
//     its square root.
//
// A median less than 5 ms above the minimum never counts as queueing: a
// sandbox answering in a fraction of a millisecond triples its latency on a
// garbage collection.
//
// The package depends on nothing of payrun's: batch gives it rows, the
// masspay client's observer gives it samples.
package flow
