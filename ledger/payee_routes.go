package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// PayeeRouteKey names a payee's route the way a sheet row asks for it: the
// payee, the country, the destination currency and the delivery type as the
// sheet gives them (DeliveryType may be empty).
type PayeeRouteKey struct {
	InternalUserID, Country, Currency, DeliveryType string
}

// PayeeRoute is what the last committed payout to a payee under a
// PayeeRouteKey used: MassPay's user, destination and attribute set tokens,
// with the fingerprint of the sheet details it was paid with. While a sheet
// row gives the same fingerprint, its payout can skip the route and
// attribute calls.
type PayeeRoute struct {
	PayeeRouteKey
	UserToken, DestinationToken, AttrSetToken, PayerName string
	// Fingerprint is the SHA-256 (hex) of the attr: values and route
	// selectors of the sheet row that was paid.
	Fingerprint string
}

// PayeeRoute returns the cached route of k; ok is false when none is cached.
func (l *Ledger) PayeeRoute(ctx context.Context, k PayeeRouteKey) (pr PayeeRoute, ok bool, err error) {
	pr.PayeeRouteKey = k
	err = l.rqRow(ctx, `SELECT user_token, destination_token, attr_set_token, payer_name, fingerprint
		FROM payee_routes WHERE internal_user_id = ? AND country = ? AND currency = ? AND delivery_type = ?`,
		k.InternalUserID, k.Country, k.Currency, k.DeliveryType).
		Scan(&pr.UserToken, &pr.DestinationToken, &pr.AttrSetToken, &pr.PayerName, &pr.Fingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return PayeeRoute{}, false, nil
	}
	if err != nil {
		return PayeeRoute{}, false, fmt.Errorf("read the cached route of %q: %w", k.InternalUserID, err)
	}
	return pr, true, nil
}

// PutPayeeRoute caches pr, replacing the entry of its key: the runner calls
// it once a payout made with pr's tokens is committed.
func (l *Ledger) PutPayeeRoute(ctx context.Context, pr PayeeRoute) error {
	if pr.InternalUserID == "" || pr.UserToken == "" || pr.DestinationToken == "" || pr.Fingerprint == "" {
		return fmt.Errorf("put payee route: empty internal_user_id, user, destination or fingerprint")
	}
	now := formatTime(l.now())
	// One statement locking one route's entry: a one-key write.
	err := l.writeOneKey(ctx, func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO payee_routes (internal_user_id, country, currency, delivery_type,
			user_token, destination_token, attr_set_token, payer_name, fingerprint, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (internal_user_id, country, currency, delivery_type) DO UPDATE SET
			user_token = excluded.user_token, destination_token = excluded.destination_token,
			attr_set_token = excluded.attr_set_token, payer_name = excluded.payer_name,
			fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
			pr.InternalUserID, pr.Country, pr.Currency, pr.DeliveryType,
			pr.UserToken, pr.DestinationToken, pr.AttrSetToken, pr.PayerName, pr.Fingerprint, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("put the route of %q: %w", pr.InternalUserID, err)
	}
	return nil
}

// ForgetPayeeRoute drops the cached route of k, if any: MassPay refused
// its tokens, so the payee's other rows take the full path at once.
func (l *Ledger) ForgetPayeeRoute(ctx context.Context, k PayeeRouteKey) error {
	err := l.write(ctx, false, func(tx *wtx) error {
		_, err := tx.exec(`DELETE FROM payee_routes
			WHERE internal_user_id = ? AND country = ? AND currency = ? AND delivery_type = ?`,
			k.InternalUserID, k.Country, k.Currency, k.DeliveryType)
		return err
	})
	if err != nil {
		return fmt.Errorf("forget the route of %q: %w", k.InternalUserID, err)
	}
	return nil
}
