package main

// examples are the command lines payrun help CMD and CMD --help end with,
// by command ("user add" falls back to "user").
var examples = map[string][]string{
	"run": {
		"payrun run --sandbox samples/monthly-freelancers.xlsx   # try it: no credentials needed",
		"payrun run june.xlsx --yes                              # cron: no question asked",
		"payrun run june.xlsx --skip-invalid --max-total 250000  # pay the good rows; cap the sheet",
	},
	"plan": {
		"payrun plan --sandbox samples/monthly-freelancers.xlsx",
		"payrun plan june.xlsx --ledger /srv/payrun/payrun.db    # record the plan for approval",
	},
	"status": {
		"payrun status                   # the latest run",
		"payrun status --run 3 --sandbox",
	},
	"report": {
		"payrun report --run 3 --out march.results.xlsx",
		"payrun report --format csv",
	},
	"reconcile": {"payrun reconcile --since 2025-03-01", "payrun reconcile --run 3"},
	"webhook":   {"payrun webhook --secret-file /etc/payrun/webhook-secret --listen 127.0.0.1:8787"},
	"template": {
		"payrun template                               # payout-template.xlsx",
		"payrun template --format csv --out june.csv",
		"payrun template --kind autopay --out rules.xlsx",
	},
	"sandbox": {"payrun sandbox --listen 127.0.0.1:8080 --api-key sandbox-key --seed 1 --error-rate 0.05"},
	"ledger": {
		"payrun ledger export --out ledger.jsonl",
		"payrun ledger export --format csv --table events --out events.csv",
		"payrun ledger backup backups/payrun-2026-03.db",
		"payrun ledger migrate --from payrun.db --to postgres://payrun@db.example.com/payrun",
	},
	"wallets": {"payrun wallets --user freelancer-0001 --out wallets.xlsx", "payrun wallets --sheet june.xlsx"},
	"autopay": {
		"payrun autopay list --out rules.xlsx",
		"payrun autopay apply --dry-run samples/autopay-rules.csv",
	},
	"tax":           {"payrun tax --year 2025 --out tax-2025.xlsx"},
	"history":       {"payrun history --from 2025-03-01 --to 2025-03-31 --out march-history.xlsx"},
	"confirmations": {"payrun confirmations --run 3 --dir confirmations/"},
	"config":        {"payrun config", "payrun config --config /etc/payrun/payrun.toml"},
	"approve": {
		"payrun approve --ledger /srv/payrun/payrun.db      # list the plans waiting",
		"payrun approve --ledger /srv/payrun/payrun.db 7    # approve plan 7",
	},
	"reject": {`payrun reject --ledger /srv/payrun/payrun.db --reason "wrong month" 7`},
	"alerts": {"payrun alerts test --config /etc/payrun/payrun.toml"},
	"inbox":  {"payrun inbox --once --config /etc/payrun/payrun.toml /srv/payrun/inbox   # from cron"},
	"serve":  {"payrun serve --sandbox", "payrun serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem"},
	"user": {
		"payrun user add --role approver --ledger payrun-sandbox.db carol",
		"payrun user list",
		"payrun user disable bob",
	},
}
