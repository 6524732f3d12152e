package ledger

import "fmt"

// State is where a row stands in the payment state machine. The lowercase
// states are steps in flight; the uppercase ones end a run's work on the row.
type State string

// The row states, in the order a row walks them. See ../shared/design.md.
const (
	StateNew         State = "new"          // ingested, nothing sent
	StateUserReady   State = "user_ready"   // MassPay user known (token cached)
	StateLoadSent    State = "load_sent"    // load request about to be / was sent; outcome unknown
	StateLoaded      State = "LOADED"       // load accepted
	StateScheduled   State = "SCHEDULED"    // load accepted for a later date
	StateRouteReady  State = "route_ready"  // destination and attributes in place
	StateInitiating  State = "initiating"   // initiate about to be / was sent; outcome unknown
	StateInitiated   State = "initiated"    // quote received, not committed
	StateCommitting  State = "committing"   // commit about to be / was sent; outcome unknown
	StatePaid        State = "PAID"         // payout committed
	StateFailed      State = "FAILED"       // definite refusal
	StateNeedsAction State = "NEEDS_ACTION" // KYC hold, missing attributes, funds: a person must act
	StateInvalid     State = "INVALID"      // refused by validation, never sent
	StateConflict    State = "CONFLICT"     // the id is already in the ledger with other content
)

// States lists every state, in state-machine order.
var States = []State{
	StateNew, StateUserReady, StateLoadSent, StateLoaded, StateScheduled,
	StateRouteReady, StateInitiating, StateInitiated, StateCommitting, StatePaid,
	StateFailed, StateNeedsAction, StateInvalid, StateConflict,
}

// transitions is the whole state machine: from -> the states it may move to.
// Every state may also move to itself (to update fields such as attempts).
var transitions = map[State][]State{
	// new -> load_sent: a load row whose payee's token is already cached
	// needs no call before the load, so its intent is the first write.
	StateNew:       {StateUserReady, StateLoadSent, StateFailed, StateNeedsAction, StateInvalid, StateConflict},
	StateUserReady: {StateLoadSent, StateRouteReady, StateFailed, StateNeedsAction},
	// load_sent, initiating -> CONFLICT: MassPay already has a load or
	// payout under the id that is not this row's money (other amount,
	// currency, payee or destination); it is shown, never paid.
	StateLoadSent:    {StateLoaded, StateScheduled, StateFailed, StateNeedsAction, StateConflict},
	StateRouteReady:  {StateInitiating, StateFailed, StateNeedsAction},
	StateInitiating:  {StateInitiated, StatePaid, StateFailed, StateNeedsAction, StateRouteReady, StateConflict},
	StateInitiated:   {StateCommitting, StateInitiating},
	StateCommitting:  {StatePaid, StateInitiating, StateFailed, StateNeedsAction},
	StateNeedsAction: {StateNew}, // explicit retry once a person has acted
}

// Valid reports whether s is one of the States.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// Final reports whether a run is done with a row in state s. A re-run never
// moves a row out of a final state; only an explicit retry takes a
// NEEDS_ACTION row back to new.
func (s State) Final() bool {
	switch s {
	case StateLoaded, StateScheduled, StatePaid, StateFailed, StateNeedsAction, StateInvalid, StateConflict:
		return true
	}
	return false
}

// Unknown reports whether the outcome of the last call made for a row in
// state s is unknown: the request may or may not have reached MassPay, so a
// resumed run must re-send it with the same Idempotency-Key.
func (s State) Unknown() bool {
	switch s {
	case StateLoadSent, StateInitiating, StateCommitting:
		return true
	}
	return false
}

// CanTransition reports whether the state machine allows from -> to. A
// self-transition is allowed for every valid state.
func CanTransition(from, to State) bool {
	if !from.Valid() || !to.Valid() {
		return false
	}
	if from == to {
		return true
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// String returns the state's stored name.
func (s State) String() string { return string(s) }

// checkTransition returns ErrIllegalTransition, wrapped with both states,
// unless from -> to is legal.
func checkTransition(from, to State) error {
	if !CanTransition(from, to) {
		return fmt.Errorf("%w: %s -> %s", ErrIllegalTransition, from, to)
	}
	return nil
}
