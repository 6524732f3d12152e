package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
)

// The Idempotency-Keys below are the contract that makes a re-run safe: the
// runner records the key in the ledger before it sends a request, and a
// resumed run re-sends the recorded key so MassPay replays instead of paying
// again. See "Keys" in ../shared/design.md.

// PayoutKey is the Idempotency-Key of a row's payout initiate for quote
// quoteSeq: "<id>" for the first quote, "<id>#2", "<id>#3"... for the fresh
// quotes taken after ex_rate_expired.
func PayoutKey(id string, quoteSeq int) string {
	if quoteSeq <= 1 {
		return id
	}
	return id + "#" + strconv.Itoa(quoteSeq)
}

// CommitKey is the Idempotency-Key of the commit of quote quoteSeq:
// "<id>#commit", "<id>#2#commit"...
func CommitKey(id string, quoteSeq int) string {
	return PayoutKey(id, quoteSeq) + "#commit"
}

// LoadKey is the Idempotency-Key (and client_load_id) of a row's wallet load.
func LoadKey(id string) string { return id }

// UserKey is the Idempotency-Key of the creation of a MassPay user.
func UserKey(internalUserID string) string { return "user:" + internalUserID }

// Fingerprint hashes the fields that define a row's payment (recipient,
// method, amount, currencies, route...) into the hex SHA-256 stored in
// rows.fingerprint. Each part is length-prefixed, so ("ab","c") and
// ("a","bc") differ. Callers must pass the parts in a fixed order and in a
// canonical form (for example decimal amounts via Decimal.String()).
func Fingerprint(parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}
