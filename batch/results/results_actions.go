package results

import "fmt"

// The next steps the results workbook tells finance, in plain English. The
// runner stores the specific ones (ActionAddAttribute, ActionAddFunds) in the
// ledger's action_needed; the results fall back on the generic ones by result.
const (
	// ActionPending is for a row whose outcome is not yet known: the re-run
	// re-sends the same idempotent request, so it cannot pay twice.
	ActionPending = "Re-run payrun run on the same sheet: this payment's outcome is being confirmed; it will not be paid twice"
	// ActionKYC is for a payee on a compliance hold.
	ActionKYC = "Send the payee the document-upload link; re-run after MassPay lifts the hold"
	// ActionFixAndRerun is the generic step for a row that needs action.
	ActionFixAndRerun = "Fix what the error column says and re-run payrun run on the same sheet"
	// ActionFailed is for a payment MassPay refused for good.
	ActionFailed = "MassPay refused this payment (see error); to try again, correct the row and give it a new client_transfer_id"
	// ActionInvalid is for a row that failed validation and was never sent.
	ActionInvalid = "Correct this row as the error column says and re-run; it was not sent"
	// ActionConflict is for a row whose client_transfer_id was already used
	// for a different payment.
	ActionConflict = "This client_transfer_id was already used for a different payment (see the Conflicts sheet): restore the original values or use a new client_transfer_id"
)

// ActionAddAttribute is the next step when MassPay needs a payee detail the
// sheet lacks: label is MassPay's human word for it ("Routing number (ABA)")
// and attrType its type ("BankRoutingNumber").
func ActionAddAttribute(label, attrType string) string {
	if label == "" {
		label = attrType
	}
	return fmt.Sprintf("Add the payee's %s in column attr:%s and re-run", label, attrType)
}

// ActionAddFunds is the next step when the account cannot cover a payment.
func ActionAddFunds(currency string) string {
	return fmt.Sprintf("Add %s funds to the MassPay account and re-run", currency)
}
