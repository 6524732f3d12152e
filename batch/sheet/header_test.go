package sheet

import "testing"

func TestMatchHeader(t *testing.T) {
	tests := []struct{ in, key, cur string }{
		{"client_transfer_id", ColClientTransferID, ""},
		{"Client Transfer ID", ColClientTransferID, ""},
		{"transfer-id", ColClientTransferID, ""},
		{"Payment ID", ColClientTransferID, ""},
		{"USER ID", ColInternalUserID, ""},
		{"E-mail", ColEmail, ""},
		{"Email Address", ColEmail, ""},
		{"country code", ColCountry, ""},
		{" Amount ", ColAmount, ""},
		{"Amount (USD)", ColAmount, "USD"},
		{"EUR amount", ColAmount, "EUR"},
		{"amount xyz", "", ""},
		{"attr:BankAccountNumber", "attr:BankAccountNumber", ""},
		{"ATTR: bankaccountnumber", "attr:BankAccountNumber", ""},
		{"attr:bank_routing_number", "attr:BankRoutingNumber", ""},
		{"attr:SomethingNew", "attr:SomethingNew", ""},
		{"Metadata:Cost Center", "metadata:Cost Center", ""},
		{"metadata:", "", ""},
		{"attr:", "", ""},
		{"Zip", ColPostalCode, ""},
		{"DOB", ColDateOfBirth, ""},
		{"autopay %", ColAutopayPercentage, ""},
		{"favourite colour", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		key, cur := MatchHeader(tt.in)
		if key != tt.key || cur != tt.cur {
			t.Errorf("MatchHeader(%q) = %q, %q; want %q, %q", tt.in, key, cur, tt.key, tt.cur)
		}
	}
}

func TestLookupCountry(t *testing.T) {
	for in, want := range map[string]string{"MEX": "MEX", "mx": "MEX", "Mexico": "MEX", "méxico": "MEX", "United States": "USA",
		"US": "USA", "uk": "GBR", "Côte d'Ivoire": "CIV", "cote divoire": "CIV", "Brasil": "BRA", "Philippines": "PHL", "NG": "NGA"} {
		if c, ok := LookupCountry(in); !ok || c.Alpha3 != want {
			t.Errorf("LookupCountry(%q) = %v, %v; want %s", in, c.Alpha3, ok, want)
		}
	}
	for _, in := range []string{"", "XX", "Narnia", "ZZZ"} {
		if c, ok := LookupCountry(in); ok {
			t.Errorf("LookupCountry(%q) = %v", in, c)
		}
	}
	if n := len(Countries()); n != 249 {
		t.Errorf("%d countries, want the 249 of ISO 3166-1", n)
	}
}

func TestLookupCurrency(t *testing.T) {
	for code, want := range map[string]int32{"USD": 2, "jpy": 0, "KWD": 3, "BHD": 3, "CLP": 0, "BTC": 8, "ETH": 8, "USDT": 6, "USDC": 6, "LTC": 8} {
		if c, ok := LookupCurrency(code); !ok || c.Decimals != want {
			t.Errorf("LookupCurrency(%q) = %+v, %v; want %d decimals", code, c, ok, want)
		}
	}
	if _, ok := LookupCurrency("XYZ"); ok {
		t.Error("XYZ is a currency")
	}
	for _, c := range Countries() {
		if _, ok := LookupCurrency(c.Currency); !ok && c.Currency != "XXX" {
			t.Errorf("%s's currency %s is not in the currency table", c.Alpha3, c.Currency)
		}
	}
}

// FuzzMatchHeader: any header matches without panicking, and a canonical
// key always matches itself, so a results sheet read back maps the same.
func FuzzMatchHeader(f *testing.F) {
	for _, s := range []string{"email", "E-Mail Address", "attr:bankaccountnumber", "metadata:Cost Center", "Amount (USD)", "attr :x", "ÅMOUNT", ":", "attr:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, _ := MatchHeader(s)
		if key == "" {
			return
		}
		if again, _ := MatchHeader(key); again != key {
			t.Fatalf("MatchHeader(%q) = %q, but MatchHeader(%q) = %q", s, key, key, again)
		}
	})
}
