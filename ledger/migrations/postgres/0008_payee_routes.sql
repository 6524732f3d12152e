-- 0008: what a committed payout to a payee used (destination and attribute
-- set), so next month's payout to the same bank details skips the route,
-- attribute read and attribute store calls (see Ledger.PayeeRoute). A cache:
-- anything may drop an entry, and the runner takes the full path then.
-- One row per payee, country, destination currency and delivery type as the
-- sheet names them ('' when the sheet leaves delivery_type empty).
-- fingerprint is the SHA-256 of the sheet's attr: values and route
-- selectors the payout was made with; an entry is used only while the
-- sheet gives the same one. A new table: constant time on any ledger.
CREATE TABLE payee_routes (
	internal_user_id  TEXT COLLATE "C" NOT NULL,
	country           TEXT COLLATE "C" NOT NULL,
	currency          TEXT COLLATE "C" NOT NULL,
	delivery_type     TEXT COLLATE "C" NOT NULL,
	user_token        TEXT COLLATE "C" NOT NULL,
	destination_token TEXT COLLATE "C" NOT NULL,
	attr_set_token    TEXT COLLATE "C" NOT NULL,
	payer_name        TEXT COLLATE "C" NOT NULL,
	fingerprint       TEXT COLLATE "C" NOT NULL,
	updated_at        TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (internal_user_id, country, currency, delivery_type)
);
