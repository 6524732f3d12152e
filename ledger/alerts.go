package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AlertClaim names one alert on one channel, about to be sent.
type AlertClaim struct {
	Key              string // what is alerted: run:12, flip:..., kyc:...
	Channel          string // "email" or "webhook"
	Kind             string // run, flip, balance, kyc, test
	ClientTransferID string // the row the alert is about, "" for none
	Recipients       string // who it goes to, as shown in the results
	// StaleAfter is how old a claim left 'sending' must be before it is
	// taken for a crash between sending and recording (and sent once
	// more); younger, another process is sending it now.
	StaleAfter time.Duration
}

// AlertRecord is what the ledger holds about one alert on one channel.
type AlertRecord struct {
	Key, Channel, Kind, ClientTransferID, Recipients string
	State                                            string // sending, sent, failed
	Attempts                                         int
	SentAt                                           time.Time
	LastError                                        string
}

// Alert states.
const (
	AlertSending = "sending"
	AlertSent    = "sent"
	AlertFailed  = "failed"
)

// ClaimAlert records, durably and before the message leaves, that the
// alert is being sent, and reports whether the caller should send it. It
// says no for an alert sent before, for one another process claimed
// recently, and for one a crash left unrecorded that was already sent a
// second time: a crash between sending and recording re-sends at most once.
func (l *Ledger) ClaimAlert(ctx context.Context, c AlertClaim) (bool, error) {
	if c.Key == "" || c.Channel == "" {
		return false, errors.New("claim alert: empty key or channel")
	}
	now := l.now()
	var send bool
	err := l.write(ctx, false, func(tx *wtx) error {
		var state, claimedAt string
		var resent int
		err := tx.queryRow(`SELECT state, claimed_at, resent FROM alerts WHERE alert_key = ? AND channel = ?`, c.Key, c.Channel).
			Scan(&state, &claimedAt, &resent)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			send = true
			_, err = tx.exec(`INSERT INTO alerts (alert_key, channel, kind, client_transfer_id, recipients, state, attempts, claimed_at)
				VALUES (?, ?, ?, ?, ?, 'sending', 1, ?)`, c.Key, c.Channel, c.Kind, c.ClientTransferID, c.Recipients, formatTime(now))
			return err
		case err != nil:
			return err
		}
		switch state {
		case AlertSent:
			send = false
			return nil
		case AlertFailed:
			send = true // every try failed: nothing reached anyone
			_, err = tx.exec(`UPDATE alerts SET state = 'sending', attempts = attempts + 1, claimed_at = ?, recipients = ?
				WHERE alert_key = ? AND channel = ?`, formatTime(now), c.Recipients, c.Key, c.Channel)
			return err
		}
		at, perr := parseTime(sql.NullString{String: claimedAt, Valid: true})
		if perr != nil || resent > 0 || now.Sub(at) < c.StaleAfter {
			send = false
			return nil
		}
		send = true
		_, err = tx.exec(`UPDATE alerts SET resent = 1, attempts = attempts + 1, claimed_at = ?
			WHERE alert_key = ? AND channel = ?`, formatTime(now), c.Key, c.Channel)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim alert %s: %w", c.Key, err)
	}
	return send, nil
}

// FinishAlert records how a claimed send ended: sent, or failed with
// sendErr's text (which must hold no secret).
func (l *Ledger) FinishAlert(ctx context.Context, key, channel string, sendErr error) error {
	now := formatTime(l.now())
	err := l.write(ctx, false, func(tx *wtx) error {
		if sendErr == nil {
			_, err := tx.exec(`UPDATE alerts SET state = 'sent', sent_at = ?, last_error = '' WHERE alert_key = ? AND channel = ?`, now, key, channel)
			return err
		}
		_, err := tx.exec(`UPDATE alerts SET state = 'failed', last_error = ? WHERE alert_key = ? AND channel = ?`, sendErr.Error(), key, channel)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish alert %s: %w", key, err)
	}
	return nil
}

// AlertsAbout returns the alerts recorded about row id, oldest first.
func (l *Ledger) AlertsAbout(ctx context.Context, id string) ([]AlertRecord, error) {
	rows, err := l.rq(ctx, `SELECT alert_key, channel, kind, client_transfer_id, recipients, state, attempts, sent_at, last_error
		FROM alerts WHERE client_transfer_id = ? ORDER BY claimed_at, alert_key, channel`, id)
	if err != nil {
		return nil, fmt.Errorf("read alerts of %q: %w", id, err)
	}
	defer rows.Close()
	var out []AlertRecord
	for rows.Next() {
		var a AlertRecord
		var sent sql.NullString
		if err := rows.Scan(&a.Key, &a.Channel, &a.Kind, &a.ClientTransferID, &a.Recipients, &a.State, &a.Attempts, &sent, &a.LastError); err != nil {
			return nil, fmt.Errorf("read alerts of %q: %w", id, err)
		}
		if a.SentAt, err = parseTime(sent); err != nil {
			return nil, fmt.Errorf("read alerts of %q: %w", id, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read alerts of %q: %w", id, err)
	}
	return out, nil
}
