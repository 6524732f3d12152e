package batch

import (
	"context"
	"encoding/json"

	"github.com/payrun/payrun/masspay"
)

// API is the part of MassPay the runner uses (pricing.API, the planner's,
// is a subset of it). *masspay.Client satisfies it; batch never talks HTTP
// itself.
type API interface {
	Balances(ctx context.Context) ([]masspay.AvailableBalance, error)
	LookupUser(ctx context.Context, p masspay.LookupUserParams) (*masspay.FoundUser, error)
	CreateUser(ctx context.Context, idempotencyKey string, u masspay.User) (*masspay.StoredUser, error)
	// LoadBody and InitiatePayoutBody send bytes encoded once and recorded
	// in the ledger with their key: batch never sends a money-moving body
	// rebuilt at send time.
	LoadBody(ctx context.Context, idempotencyKey, userToken string, body json.RawMessage) (*masspay.LoadTxnResp, error)
	Loads(ctx context.Context, userToken string) ([]masspay.Load, error)
	PreferredRoutes(ctx context.Context, countryCode string, p masspay.RouteParams) (*masspay.CountryServices, error)
	Service(ctx context.Context, destinationToken string) (*masspay.Service, error)
	Attributes(ctx context.Context, userToken, destinationToken, currency string) ([]masspay.AttrsRequirement, error)
	StoreAttributes(ctx context.Context, idempotencyKey, userToken, destinationToken, currency string, t masspay.AttrTxn) (*masspay.AttrTxnResp, error)
	InitiatePayoutBody(ctx context.Context, idempotencyKey, userToken string, body json.RawMessage) (*masspay.PayoutTxnResp, error)
	CommitPayout(ctx context.Context, idempotencyKey, userToken, payoutToken string) (*masspay.PayoutTxnCommitResp, error)
	PayoutStatus(ctx context.Context, userToken, payoutToken string, force bool) (*masspay.PayoutTxnResp, error)
	Payouts(ctx context.Context, userToken string) ([]masspay.PayoutTxnResp, error)
	UserHistory(ctx context.Context, userToken string, p masspay.HistoryParams) ([]masspay.TxnHistory, error)
}

var _ API = (*masspay.Client)(nil)
