package sheet

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// Methods and amount_is values of a row.
const (
	MethodLoad   = "load"
	MethodPayout = "payout"

	AmountIsSource      = "source"
	AmountIsDestination = "destination"

	// DeliveryCryptocurrency is the delivery type of crypto payouts.
	DeliveryCryptocurrency = "CRYPTOCURRENCY"

	// MaxClientTransferIDLen is MassPay's limit on client_transfer_id.
	MaxClientTransferIDLen = 50
)

// Row is one payment of a sheet, as read and normalised by ingest. Its typed
// fields hold what the cells say once parsed; Problems holds what went wrong
// reading them (a cell that is not a number, a symbol stripped), and
// Validate adds the rest.
type Row struct {
	// Line is the row number a person sees: the spreadsheet row for XLSX,
	// the record's row for CSV (as Excel would number it; blank lines count).
	Line  int
	Sheet string

	ClientTransferID string
	InternalUserID   string
	FirstName        string
	LastName         string
	Email            string
	// Country is ISO 3166 alpha-3 when the cell named a known country,
	// otherwise the cell as written (Validate reports it).
	Country             string
	Method              string // MethodLoad (default) or MethodPayout
	Amount              decimal.Decimal
	SourceCurrency      string // default USD
	DestinationCurrency string
	AmountIs            string // AmountIsSource (default) or AmountIsDestination
	DeliveryType        string
	PayerName           string
	DestinationToken    string
	Notes               string
	NotifyUser          *bool
	TimeToProcess       *time.Time
	AutopayPercentage   *decimal.Decimal

	// Attrs are the attr:<Type> columns, keyed by Type; Metadata the
	// metadata:<key> columns. Empty cells are left out of both.
	Attrs    map[string]string
	Metadata map[string]string

	Address1      string
	Address2      string
	City          string
	StateProvince string
	PostalCode    string
	MiddleName    string
	Language      string
	MobileNumber  string
	BusinessName  string
	DateOfBirth   string // YYYY-MM-DD

	// Input is every column of the sheet in sheet order, with the header as
	// written and the cell as read, unknown columns included, so the results
	// workbook can echo the row.
	Input []InputField

	// Problems are what ingest found wrong with this row's cells.
	Problems []Problem

	// AmountText is the amount cell as written, to tell an empty amount
	// from a zero one.
	AmountText string
}

// IsPayout reports whether the row is a direct payout rather than a load.
func (r Row) IsPayout() bool { return r.Method == MethodPayout }

// IsCrypto reports whether the row pays out a crypto asset.
func (r Row) IsCrypto() bool {
	return r.IsPayout() && (r.DeliveryType == DeliveryCryptocurrency || IsCrypto(r.DestinationCurrency))
}

// AmountCurrency is the currency the amount is written in: the source
// currency, or the destination currency when amount_is is destination.
func (r Row) AmountCurrency() string {
	if r.AmountIs == AmountIsDestination {
		return r.DestinationCurrency
	}
	return r.SourceCurrency
}

// Fingerprint is a stable hash of the fields that define the payment: the
// recipient, method, amount, currencies, route and route attributes. Notes, metadata and
// profile fields are left out, so fixing a typo in a note does not make a
// row a different payment. The ledger compares fingerprints to detect a
// client_transfer_id reused for different content.
func (r Row) Fingerprint() string {
	h := sha256.New()
	ttp := ""
	if r.TimeToProcess != nil {
		ttp = r.TimeToProcess.UTC().Format(time.RFC3339)
	}
	for _, f := range []string{
		"v1", r.ClientTransferID, r.InternalUserID, r.Email, r.Country, r.Method,
		r.Amount.String(), r.SourceCurrency, r.DestinationCurrency, r.AmountIs,
		r.DestinationToken, r.DeliveryType, r.PayerName, ttp,
	} {
		h.Write([]byte(f))
		h.Write([]byte{0x1f})
	}
	// The route attributes say where the money goes (an account number), so
	// they are part of the payment too, in a fixed order.
	keys := make([]string, 0, len(r.Attrs))
	for k := range r.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.Write([]byte(k + "=" + r.Attrs[k]))
		h.Write([]byte{0x1f})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// InputField is one cell of the payout sheet as it was read: the header as
// the sheet spelled it and the raw value.
type InputField struct {
	Header string
	Value  string
	// Format is the XLSX number format of a cell the sheet held as a
	// number in a column payrun does not read (an invoice date is 46266
	// shown as a date): the results show it the same way. "" otherwise.
	Format string
}
