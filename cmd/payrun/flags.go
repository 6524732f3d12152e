package main

import (
	"flag"
	"fmt"
	"github.com/payrun/payrun/masspay"
	"strconv"
)

// Every flag that several commands take is defined here, once, so its name,
// text and default read the same in every command's help. Flags of one
// command alone stay with it.

// apiFlags are the flags of every command that talks to MassPay.
type apiFlags struct {
	sandbox      bool
	sandboxState string
	baseURL      string
	env          string
	keyFile      string
	rateLimit    rateFlag
	debug        bool
	// observe, set by the caller (not a flag), sees every attempt of the
	// client: the run's concurrency window learns from it.
	observe func(masspay.Attempt)
}

func (f *apiFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.sandbox, "sandbox", false, "run against the embedded MassPay sandbox (no credentials needed)")
	fs.StringVar(&f.sandboxState, "sandbox-state", "", "with --sandbox: `FILE` the sandbox keeps its state in between runs, with its journal FILE.journal (default: next to the ledger)")
	fs.StringVar(&f.baseURL, "base-url", "", "MassPay base `URL` (env MASSPAY_BASE_URL), e.g. http://127.0.0.1:8080/v1.0.0/payout")
	fs.StringVar(&f.env, "env", "", "MassPay environment: production or staging (env MASSPAY_ENV)")
	fs.StringVar(&f.keyFile, "api-key-file", "", "`FILE` holding the MassPay API key (env MASSPAY_API_KEY_FILE; or MASSPAY_API_KEY)")
	fs.Var(&f.rateLimit, "rate-limit", "most MassPay requests per second, a `number` (env PAYRUN_RATE_LIMIT; default none: MassPay's announced limit and 429s set the pace)")
	fs.BoolVar(&f.debug, "debug", false, "log every MassPay request (method, path, status, latency, attempt)")
}

// logFlags are the logging flags every command shares, and --config, which
// m.logger loads first since every command builds its logger first.
type logFlags struct {
	level  string
	file   string
	config string
}

func (f *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.level, "log-level", "", "log level: debug, info, warn, error (env PAYRUN_LOG_LEVEL; default info)")
	fs.StringVar(&f.file, "log-file", "", "append JSON log lines to this `FILE` instead of stderr (env PAYRUN_LOG_FILE)")
	configFlag(fs, &f.config)
}

// configFlag is --config, the configuration file.
func configFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "config", "", "configuration `FILE` (env PAYRUN_CONFIG; default ./payrun.toml if present)")
}

// ledgerFlag is --ledger, for commands whose default ledger follows
// --sandbox (or that have no --sandbox: then payrun.db).
func ledgerFlag(fs *flag.FlagSet, p *string) {
	ledgerFlagDefault(fs, p, "payrun.db, or payrun-sandbox.db with --sandbox")
}

// ledgerFlagDefault is --ledger with another default (the inbox's lives in
// its folder).
func ledgerFlagDefault(fs *flag.FlagSet, p *string, def string) {
	fs.StringVar(p, "ledger", "", "the ledger `FILE` (env PAYRUN_LEDGER; default "+def+")")
}

// sandboxLedgerFlag is --sandbox for commands that do not call MassPay: it
// only picks the sandbox's default ledger.
func sandboxLedgerFlag(fs *flag.FlagSet, p *bool) {
	fs.BoolVar(p, "sandbox", false, "use the sandbox's ledger (payrun-sandbox.db), as commands run with --sandbox do")
}

// runIDFlag is --run, the run a command reads.
func runIDFlag(fs *flag.FlagSet, p *int64) {
	fs.Int64Var(p, "run", 0, "the run `ID` (default: the latest)")
}

// workersFlag is --workers, the rows paid at once.
func workersFlag(fs *flag.FlagSet, p *int) {
	fs.IntVar(p, "workers", 0, "`N` rows paid at once, pinned (env PAYRUN_WORKERS; default: adaptive, from MassPay's latency and 429s)")
}

// maxWorkersFlag is --max-workers: the most rows paid at once while the
// window adapts.
func maxWorkersFlag(fs *flag.FlagSet, p *int) {
	fs.IntVar(p, "max-workers", 0, "`N`, the most rows paid at once while adapting (env PAYRUN_MAX_WORKERS; default 64)")
}

// requireApprovalFlag is --require-approval. It can only switch approval
// on; the environment or payrun.toml switch it on for every run.
func requireApprovalFlag(fs *flag.FlagSet, p *bool) {
	fs.BoolVar(p, "require-approval", false, "pay only a sheet whose exact bytes match an approved plan (env PAYRUN_REQUIRE_APPROVAL)")
}

// allowPartialFlag is --allow-partial.
func allowPartialFlag(fs *flag.FlagSet, p *bool) {
	fs.BoolVar(p, "allow-partial", false, "start even when the balance cannot cover the whole sheet")
}

// kycNoticeFlag is --kyc-notice.
func kycNoticeFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "kyc-notice", "", "email held payees' upload links to: off, payee, compliance, both (env PAYRUN_KYC_NOTICE; default off)")
}

// settleFlag is --settle, the inbox's settle time.
func settleFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "settle", "", "payrun inbox: how long a new sheet's size and time must stay unchanged before it is taken (env PAYRUN_INBOX_SETTLE; default 5s)")
}

// runFlagsFromPlan are the flags of payrun plan that payrun run takes too:
// plan's next-step hint repeats those given.
var runFlagsFromPlan = []string{"sandbox", "sandbox-state", "env", "base-url", "api-key-file", "rate-limit", "debug",
	"config", "log-level", "log-file", "ledger", "sheet", "decimal-mark", "max-amount", "max-total", "results-mode"}

// rateFlag is --rate-limit: a number that remembers whether it was given, so
// an unset flag yields to PAYRUN_RATE_LIMIT and payrun.toml.
type rateFlag struct {
	v   float64
	set bool
}

func (r *rateFlag) String() string {
	if r == nil || !r.set {
		return ""
	}
	return strconv.FormatFloat(r.v, 'f', -1, 64)
}

func (r *rateFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a number >= 0", s)
	}
	r.v, r.set = v, true
	return nil
}
