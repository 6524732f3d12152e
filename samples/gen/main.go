// Command gen writes the example sheets in samples/. Run it from the module
// root with `go run ./samples/gen`; the output is byte-for-byte reproducible
// (fixed random seed, no clock), so a diff after running it is a real change.
//
// The sheets follow the sandbox catalog of the brief: every direct payout
// names a route the sandbox has and carries that route's attr: columns with
// values matching its patterns, except for the one row that deliberately
// misses an attribute.
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"
)

var header = []string{
	"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country",
	"method", "amount", "source_currency", "destination_currency", "delivery_type", "payer_name",
	"attr:BankAccountNumber", "attr:BankRoutingNumber", "attr:BankCode", "attr:IdentificationNumber",
	"attr:PhoneNumber", "attr:EmailAddress", "attr:WalletAddress", "notes", "metadata:cost_center",
}

// row is one sample row keyed by header name.
type row map[string]string

func main() {
	dir := flag.String("dir", "samples", "directory to write the samples to")
	flag.Parse()
	monthly := monthlyFreelancers()
	must(writeXLSX(filepath.Join(*dir, "monthly-freelancers.xlsx"), "Payouts", header, monthly))
	must(writeCSV(filepath.Join(*dir, "monthly-freelancers.csv"), header, monthly))
	must(writeCSV(filepath.Join(*dir, "crypto-payouts.csv"), header, cryptoPayouts()))
	mh, mr := mistakes()
	must(writeCSV(filepath.Join(*dir, "mistakes.csv"), mh, mr))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

type person struct{ first, last string }

var names = map[string][]person{
	"USA": {{"Emily", "Carter"}, {"James", "Walker"}, {"Olivia", "Bennett"}, {"Michael", "Reyes"}, {"Sophia", "Turner"}, {"Daniel", "Brooks"}},
	"MEX": {{"Sofía", "Hernández"}, {"Diego", "Ramírez"}, {"Valeria", "Torres"}, {"Luis", "Navarro"}, {"Camila", "Ortega"}},
	"BRA": {{"Lucas", "Oliveira"}, {"Ana", "Souza"}, {"Gabriel", "Costa"}, {"Beatriz", "Lima"}, {"Rafael", "Almeida"}},
	"IND": {{"Aarav", "Sharma"}, {"Priya", "Iyer"}, {"Rohan", "Mehta"}, {"Ananya", "Reddy"}, {"Vikram", "Nair"}},
	"PHL": {{"Maria", "Santos"}, {"Jose", "Reyes"}, {"Angelica", "Cruz"}, {"Mark", "Bautista"}},
	"GBR": {{"Oliver", "Hughes"}, {"Amelia", "Clarke"}, {"Harry", "Patel"}, {"Isla", "Morgan"}},
	"CAN": {{"Liam", "Tremblay"}, {"Chloe", "Gagnon"}, {"Noah", "Roy"}, {"Emma", "Lavoie"}},
	"NGA": {{"Chinedu", "Okafor"}, {"Aisha", "Bello"}, {"Tunde", "Adeyemi"}, {"Ngozi", "Eze"}},
	"DEU": {{"Lena", "Schmidt"}, {"Jonas", "Becker"}, {"Mia", "Wagner"}},
	"ESP": {{"Lucía", "García"}, {"Pablo", "Martín"}},
	"COL": {{"Santiago", "Gómez"}, {"Isabella", "Rojas"}},
	"ARG": {{"Martina", "Fernández"}, {"Tomás", "López"}},
	"KEN": {{"Wanjiru", "Kamau"}, {"Otieno", "Ochieng"}},
	"FRA": {{"Chloé", "Dubois"}, {"Hugo", "Lefèvre"}},
	"POL": {{"Zofia", "Kowalska"}, {"Jakub", "Nowak"}},
}

var loadCountries = []string{"USA", "MEX", "BRA", "IND", "PHL", "GBR", "CAN", "NGA", "DEU", "ESP", "COL", "ARG", "KEN", "FRA", "POL"}

// costCenters are metadata values, to show metadata:<key> columns.
var costCenters = []string{"ENG", "DESIGN", "MARKETING", "SUPPORT", "CONTENT"}

func digits(r *rand.Rand, n int) string {
	var b strings.Builder
	b.WriteByte(byte('1' + r.IntN(9)))
	for i := 1; i < n; i++ {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	return b.String()
}

func upper(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(byte('A' + r.IntN(26)))
	}
	return b.String()
}

// amount returns a dollar amount in [lo, hi) with cents, avoiding the
// sandbox's magic cents .13 to .16, which make a payment fail on purpose.
func amount(r *rand.Rand, lo, hi int) string {
	whole := lo + r.IntN(hi-lo)
	cents := r.IntN(100)
	for cents >= 13 && cents <= 16 {
		cents = r.IntN(100)
	}
	return fmt.Sprintf("%d.%02d", whole, cents)
}

func payee(r *rand.Rand, country string, n int) (person, row) {
	p := names[country][r.IntN(len(names[country]))]
	id := fmt.Sprintf("fl-%s-%03d", strings.ToLower(country), n)
	email := fmt.Sprintf("%s.%s%d@example.com", asciiLower(p.first), asciiLower(p.last), n)
	return p, row{
		"internal_user_id": id, "first_name": p.first, "last_name": p.last, "email": email, "country": country,
		"metadata:cost_center": costCenters[r.IntN(len(costCenters))],
	}
}

func asciiLower(s string) string {
	rep := strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ñ", "n", "è", "e", "ç", "c", "ã", "a", "ê", "e")
	return strings.ToLower(rep.Replace(s))
}

// route fills a direct payout's route and attributes for country.
func route(r *rand.Rand, country string, variant int, rw row) {
	rw["method"] = "payout"
	switch country {
	case "USA":
		rw["destination_currency"], rw["delivery_type"], rw["payer_name"] = "USD", "BANK_DEPOSIT", "Bank Deposit"
		rw["attr:BankAccountNumber"], rw["attr:BankRoutingNumber"] = digits(r, 10), "0"+digits(r, 8)
	case "MEX":
		rw["destination_currency"] = "MXN"
		if variant%3 == 2 {
			rw["delivery_type"], rw["payer_name"] = "CASH_PICKUP", "Elektra"
		} else {
			rw["delivery_type"], rw["payer_name"] = "BANK_DEPOSIT", "Bank Deposit"
			rw["attr:BankAccountNumber"] = "0" + digits(r, 17) // an 18-digit CLABE
		}
	case "BRA":
		rw["destination_currency"], rw["delivery_type"], rw["payer_name"] = "BRL", "BANK_DEPOSIT", "Bank Deposit"
		rw["attr:BankAccountNumber"], rw["attr:IdentificationNumber"] = digits(r, 8), digits(r, 11)
	case "IND":
		rw["destination_currency"], rw["delivery_type"], rw["payer_name"] = "INR", "BANK_DEPOSIT", "Bank Deposit"
		rw["attr:BankAccountNumber"], rw["attr:BankCode"] = digits(r, 12), upper(r, 4)+"0"+digits(r, 6)
	case "PHL":
		rw["destination_currency"] = "PHP"
		if variant%3 == 2 {
			rw["delivery_type"], rw["payer_name"] = "CASH_PICKUP", "Cebuana Lhuillier"
		} else {
			rw["delivery_type"], rw["payer_name"] = "MOBILE_WALLET", "GCash"
			rw["attr:PhoneNumber"] = "+639" + digits(r, 9)
		}
	case "GBR":
		rw["destination_currency"], rw["delivery_type"], rw["payer_name"] = "GBP", "BANK_DEPOSIT", "Bank Deposit"
		rw["attr:BankAccountNumber"], rw["attr:BankCode"] = digits(r, 8), digits(r, 6)
	case "CAN":
		rw["destination_currency"], rw["delivery_type"] = "CAD", "BANK_DEPOSIT"
		if variant%3 == 2 {
			rw["payer_name"], rw["attr:EmailAddress"] = "Interac", rw["email"]
		} else {
			rw["payer_name"] = "Bank Deposit"
			rw["attr:BankAccountNumber"], rw["attr:BankRoutingNumber"] = digits(r, 9), "0"+digits(r, 8)
		}
	case "NGA":
		rw["destination_currency"], rw["delivery_type"], rw["payer_name"] = "NGN", "BANK_DEPOSIT", "Bank Deposit"
		rw["attr:BankAccountNumber"], rw["attr:BankCode"] = digits(r, 10), "0"+digits(r, 2)
	}
}

var payoutCountries = []string{"USA", "MEX", "BRA", "IND", "PHL", "GBR", "CAN", "NGA"}

func monthlyFreelancers() []row {
	r := rand.New(rand.NewPCG(2026, 6))
	var rows []row
	n := 0
	next := func() string { n++; return fmt.Sprintf("2026-06-FL-%04d", n) }
	// 150 wallet loads, a fifth of them funded in EUR.
	for i := 0; i < 150; i++ {
		country := loadCountries[r.IntN(len(loadCountries))]
		_, rw := payee(r, country, len(rows)+1)
		rw["client_transfer_id"], rw["method"], rw["source_currency"] = next(), "load", "USD"
		rw["amount"] = amount(r, 80, 2400)
		if i%5 == 4 {
			rw["source_currency"] = "EUR"
		}
		rw["notes"] = "June 2026 invoice"
		rows = append(rows, rw)
	}
	// 40 direct payouts, five per payout country.
	for i := 0; i < 40; i++ {
		country := payoutCountries[i%len(payoutCountries)]
		_, rw := payee(r, country, len(rows)+1)
		rw["client_transfer_id"], rw["source_currency"] = next(), "USD"
		rw["amount"] = amount(r, 60, 2500)
		route(r, country, i/len(payoutCountries), rw)
		rw["notes"] = "June 2026 invoice"
		rows = append(rows, rw)
	}
	// 4 crypto payouts.
	for i, coin := range []string{"BTC", "ETH", "USDT", "BTC"} {
		country := payoutCountries[r.IntN(len(payoutCountries))]
		_, rw := payee(r, country, len(rows)+1)
		rw["client_transfer_id"], rw["source_currency"], rw["method"] = next(), "USD", "payout"
		rw["amount"] = amount(r, 50, 1500)
		cryptoRoute(r, coin, rw)
		rw["notes"] = fmt.Sprintf("June 2026 invoice, paid in %s (%d)", coin, i+1)
		rows = append(rows, rw)
	}
	// Two payees on a compliance hold (the sandbox locks @kyc-hold.example).
	for i, p := range []person{{"Marta", "Quintero"}, {"Kwame", "Mensah"}} {
		rw := row{"client_transfer_id": next(), "internal_user_id": fmt.Sprintf("fl-hold-%d", i+1), "first_name": p.first, "last_name": p.last,
			"email": asciiLower(p.first) + "." + asciiLower(p.last) + "@kyc-hold.example", "country": []string{"COL", "GBR"}[i],
			"method": "load", "amount": amount(r, 200, 900), "source_currency": "USD", "notes": "June 2026 invoice", "metadata:cost_center": "CONTENT"}
		rows = append(rows, rw)
	}
	// A GBR bank payout missing its sort code (attr:BankCode): the run asks for it.
	_, rw := payee(r, "GBR", len(rows)+1)
	rw["client_transfer_id"], rw["source_currency"], rw["amount"] = next(), "USD", "740.00"
	route(r, "GBR", 0, rw)
	delete(rw, "attr:BankCode")
	rw["notes"] = "June 2026 invoice (sort code missing)"
	rows = append(rows, rw)
	// A load whose cents are .13: the sandbox refuses it at commit.
	_, rw = payee(r, "USA", len(rows)+1)
	rw["client_transfer_id"], rw["method"], rw["source_currency"], rw["amount"] = next(), "load", "USD", "412.13"
	rw["notes"] = "June 2026 invoice"
	rows = append(rows, rw)
	// A few more loads to round the sheet to 200 rows.
	for len(rows) < 200 {
		country := loadCountries[r.IntN(len(loadCountries))]
		_, rw := payee(r, country, len(rows)+1)
		rw["client_transfer_id"], rw["method"], rw["source_currency"] = next(), "load", "USD"
		rw["amount"] = amount(r, 80, 2400)
		rw["notes"] = "June 2026 bonus"
		rows = append(rows, rw)
	}
	return rows
}

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// btcAddress returns a valid bech32 (segwit v0, P2WPKH) mainnet address for
// a random 20-byte program: checksum included, so real validators accept it.
func btcAddress(r *rand.Rand) string {
	prog := make([]byte, 20)
	for i := range prog {
		prog[i] = byte(r.IntN(256))
	}
	data := []byte{0}
	acc, bits := 0, 0
	for _, b := range prog {
		acc = acc<<8 | int(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			data = append(data, byte(acc>>bits&31))
		}
	}
	if bits > 0 {
		data = append(data, byte(acc<<(5-bits)&31))
	}
	hrp := "bc"
	values := []byte{}
	for _, c := range hrp {
		values = append(values, byte(c>>5))
	}
	values = append(values, 0)
	for _, c := range hrp {
		values = append(values, byte(c&31))
	}
	values = append(values, data...)
	values = append(values, 0, 0, 0, 0, 0, 0)
	pm := bech32Polymod(values) ^ 1
	var b strings.Builder
	b.WriteString(hrp + "1")
	for _, d := range data {
		b.WriteByte(bech32Charset[d])
	}
	for i := 0; i < 6; i++ {
		b.WriteByte(bech32Charset[(pm>>(5*(5-i)))&31])
	}
	return b.String()
}

func bech32Polymod(values []byte) uint32 {
	gen := []uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := 0; i < 5; i++ {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

// ethAddress is a lower-case hex address: valid for Ethereum and ERC-20
// tokens (the mixed-case EIP-55 checksum is optional).
func ethAddress(r *rand.Rand) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.WriteString("0x")
	for i := 0; i < 40; i++ {
		b.WriteByte(hex[r.IntN(16)])
	}
	return b.String()
}

func cryptoRoute(r *rand.Rand, coin string, rw row) {
	rw["method"], rw["destination_currency"], rw["delivery_type"] = "payout", coin, "CRYPTOCURRENCY"
	switch coin {
	case "BTC":
		rw["payer_name"], rw["attr:WalletAddress"] = "Bitcoin", btcAddress(r)
	case "ETH":
		rw["payer_name"], rw["attr:WalletAddress"] = "Ethereum", ethAddress(r)
	case "USDT":
		rw["payer_name"], rw["attr:WalletAddress"] = "Tether USDT", ethAddress(r)
	}
}

func cryptoPayouts() []row {
	r := rand.New(rand.NewPCG(2026, 7))
	var rows []row
	coins := []string{"BTC", "ETH", "USDT"}
	for i := 0; i < 20; i++ {
		country := payoutCountries[r.IntN(len(payoutCountries))]
		_, rw := payee(r, country, i+1)
		rw["internal_user_id"] = fmt.Sprintf("cr-%03d", i+1)
		rw["client_transfer_id"] = fmt.Sprintf("2026-06-CR-%04d", i+1)
		rw["source_currency"], rw["amount"] = "USD", amount(r, 25, 2000)
		coin := coins[i%len(coins)]
		if coin == "USDT" && i%2 == 0 {
			rw["source_currency"] = "USDT" // paid from the USDT balance
		}
		cryptoRoute(r, coin, rw)
		rw["notes"] = "Contributor grant, June 2026"
		rows = append(rows, rw)
	}
	return rows
}

// mistakes is a sheet with one of each common mistake, for the docs and the
// CLI's error output. Rows 2 and 3 are fine, to show that good rows are not
// reported.
func mistakes() ([]string, []row) {
	h := []string{"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country", "method", "amount", "source_currency", "destination_currency", "delivery_type", "time_to_process", "notes"}
	base := func(id, user, first, last, email, country, amt string) row {
		return row{"client_transfer_id": id, "internal_user_id": user, "first_name": first, "last_name": last, "email": email, "country": country, "method": "load", "amount": amt, "source_currency": "USD"}
	}
	rows := []row{
		base("M-001", "u-001", "Ana", "Silva", "ana.silva@example.com", "BRA", "250.00"),
		base("M-002", "u-002", "Ben", "Okoro", "ben.okoro@example.com", "Nigeria", "300.00"),
		base("M-003", "u-003", "Carla", "Mendes", "", "BRA", "120.00"),
		base("M-004", "u-004", "Dev", "Patel", "dev.patel@example", "IND", "90.00"),
		base("M-005", "u-005", "Elif", "Kaya", "elif.kaya@example.com", "Atlantis", "75.00"),
		base("M-006", "u-006", "Femi", "Adebayo", "femi.adebayo@example.com", "NGA", "12.3456"),
		base("M-007", "u-007", "Gwen", "Lloyd", "gwen.lloyd@example.com", "GBR", "-40.00"),
		base("M-008", "u-008", "Hana", "Sato", "hana.sato@example.com", "USA", "55.00"),
		base("M-008", "u-009", "Ivan", "Petrov", "ivan.petrov@example.com", "USA", "65.00"),
		base("M-010", "u-010", "Jade", "Moreau", "jade.moreau@example.com", "MEX", "80.00"),
		base("M-011", "u-011", "Kofi", "Boateng", "kofi.boateng@example.com", "USA", "two hundred"),
		base("M-012-this-transfer-id-is-much-longer-than-fifty-characters", "u-012", "Lena", "Fischer", "lena.fischer@example.com", "DEU", "110.00"),
		base("M-013", "u-013", "Mo", "Haddad", "mo.haddad@example.com", "USA", "95.00"),
	}
	rows[9]["method"] = "payout" // M-010: a payout with neither destination_token nor delivery_type
	rows[12]["time_to_process"] = "2024-01-15 09:00"
	notes := []string{"fine", "fine (country written as a name)", "missing email", "email without a dotted domain", "unknown country",
		"4 decimals in a USD amount", "negative amount", "duplicate transfer id (1 of 2)", "duplicate transfer id (2 of 2)",
		"payout without a route", "text in the amount", "transfer id over 50 characters", "time_to_process in the past"}
	for i := range rows {
		rows[i]["notes"] = notes[i]
	}
	return h, rows
}

func writeCSV(path string, h []string, rows []row) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(h)
	for _, rw := range rows {
		rec := make([]string, len(h))
		for i, c := range h {
			rec[i] = rw[c]
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeXLSX writes rows with a bold frozen header; amounts are numeric cells
// written from their decimal text (SetCellDefault), so no float is involved.
func writeXLSX(path, sheet string, h []string, rows []row) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	money, err := f.NewStyle(&excelize.Style{NumFmt: 4}) // #,##0.00
	if err != nil {
		return err
	}
	for i, c := range h {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		f.SetCellStr(sheet, cell, c)
		f.SetCellStyle(sheet, cell, cell, bold)
	}
	for r, rw := range rows {
		for i, c := range h {
			v := rw[c]
			if v == "" {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(i+1, r+2)
			if c == "amount" {
				f.SetCellDefault(sheet, cell, v)
				f.SetCellStyle(sheet, cell, cell, money)
				continue
			}
			f.SetCellStr(sheet, cell, v)
		}
	}
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	last, _ := excelize.ColumnNumberToName(len(h))
	f.SetColWidth(sheet, "A", last, 18)
	return f.SaveAs(path)
}
