package sheet

import "strings"

// Country is one ISO 3166-1 country: its alpha-2 and alpha-3 codes, its
// English short name and the currency most payouts there are made in.
type Country struct {
	Alpha2   string
	Alpha3   string
	Name     string
	Currency string
}

// countries is the full ISO 3166-1 list (249 entries). It was seeded from
// the CLDR data in golang.org/x/text and is maintained by hand: names are the
// ones finance people type, and the currencies follow the 2026 state (Croatia
// and Bulgaria on the euro, MRU, VES, SLE). A hand-kept table beats a module
// here: it is small, reviewable, and changes a few times a decade.
var countries = []Country{
	{"AD", "AND", "Andorra", "EUR"},
	{"AE", "ARE", "United Arab Emirates", "AED"},
	{"AF", "AFG", "Afghanistan", "AFN"},
	{"AG", "ATG", "Antigua and Barbuda", "XCD"},
	{"AI", "AIA", "Anguilla", "XCD"},
	{"AL", "ALB", "Albania", "ALL"},
	{"AM", "ARM", "Armenia", "AMD"},
	{"AO", "AGO", "Angola", "AOA"},
	{"AQ", "ATA", "Antarctica", "XXX"},
	{"AR", "ARG", "Argentina", "ARS"},
	{"AS", "ASM", "American Samoa", "USD"},
	{"AT", "AUT", "Austria", "EUR"},
	{"AU", "AUS", "Australia", "AUD"},
	{"AW", "ABW", "Aruba", "AWG"},
	{"AX", "ALA", "Åland Islands", "EUR"},
	{"AZ", "AZE", "Azerbaijan", "AZN"},
	{"BA", "BIH", "Bosnia and Herzegovina", "BAM"},
	{"BB", "BRB", "Barbados", "BBD"},
	{"BD", "BGD", "Bangladesh", "BDT"},
	{"BE", "BEL", "Belgium", "EUR"},
	{"BF", "BFA", "Burkina Faso", "XOF"},
	{"BG", "BGR", "Bulgaria", "EUR"},
	{"BH", "BHR", "Bahrain", "BHD"},
	{"BI", "BDI", "Burundi", "BIF"},
	{"BJ", "BEN", "Benin", "XOF"},
	{"BL", "BLM", "Saint Barthélemy", "EUR"},
	{"BM", "BMU", "Bermuda", "BMD"},
	{"BN", "BRN", "Brunei", "BND"},
	{"BO", "BOL", "Bolivia", "BOB"},
	{"BQ", "BES", "Caribbean Netherlands", "USD"},
	{"BR", "BRA", "Brazil", "BRL"},
	{"BS", "BHS", "Bahamas", "BSD"},
	{"BT", "BTN", "Bhutan", "BTN"},
	{"BV", "BVT", "Bouvet Island", "NOK"},
	{"BW", "BWA", "Botswana", "BWP"},
	{"BY", "BLR", "Belarus", "BYN"},
	{"BZ", "BLZ", "Belize", "BZD"},
	{"CA", "CAN", "Canada", "CAD"},
	{"CC", "CCK", "Cocos (Keeling) Islands", "AUD"},
	{"CD", "COD", "Congo (Democratic Republic)", "CDF"},
	{"CF", "CAF", "Central African Republic", "XAF"},
	{"CG", "COG", "Congo", "XAF"},
	{"CH", "CHE", "Switzerland", "CHF"},
	{"CI", "CIV", "Côte d'Ivoire", "XOF"},
	{"CK", "COK", "Cook Islands", "NZD"},
	{"CL", "CHL", "Chile", "CLP"},
	{"CM", "CMR", "Cameroon", "XAF"},
	{"CN", "CHN", "China", "CNY"},
	{"CO", "COL", "Colombia", "COP"},
	{"CR", "CRI", "Costa Rica", "CRC"},
	{"CU", "CUB", "Cuba", "CUP"},
	{"CV", "CPV", "Cape Verde", "CVE"},
	{"CW", "CUW", "Curaçao", "ANG"},
	{"CX", "CXR", "Christmas Island", "AUD"},
	{"CY", "CYP", "Cyprus", "EUR"},
	{"CZ", "CZE", "Czechia", "CZK"},
	{"DE", "DEU", "Germany", "EUR"},
	{"DJ", "DJI", "Djibouti", "DJF"},
	{"DK", "DNK", "Denmark", "DKK"},
	{"DM", "DMA", "Dominica", "XCD"},
	{"DO", "DOM", "Dominican Republic", "DOP"},
	{"DZ", "DZA", "Algeria", "DZD"},
	{"EC", "ECU", "Ecuador", "USD"},
	{"EE", "EST", "Estonia", "EUR"},
	{"EG", "EGY", "Egypt", "EGP"},
	{"EH", "ESH", "Western Sahara", "MAD"},
	{"ER", "ERI", "Eritrea", "ERN"},
	{"ES", "ESP", "Spain", "EUR"},
	{"ET", "ETH", "Ethiopia", "ETB"},
	{"FI", "FIN", "Finland", "EUR"},
	{"FJ", "FJI", "Fiji", "FJD"},
	{"FK", "FLK", "Falkland Islands", "FKP"},
	{"FM", "FSM", "Micronesia", "USD"},
	{"FO", "FRO", "Faroe Islands", "DKK"},
	{"FR", "FRA", "France", "EUR"},
	{"GA", "GAB", "Gabon", "XAF"},
	{"GB", "GBR", "United Kingdom", "GBP"},
	{"GD", "GRD", "Grenada", "XCD"},
	{"GE", "GEO", "Georgia", "GEL"},
	{"GF", "GUF", "French Guiana", "EUR"},
	{"GG", "GGY", "Guernsey", "GBP"},
	{"GH", "GHA", "Ghana", "GHS"},
	{"GI", "GIB", "Gibraltar", "GIP"},
	{"GL", "GRL", "Greenland", "DKK"},
	{"GM", "GMB", "Gambia", "GMD"},
	{"GN", "GIN", "Guinea", "GNF"},
	{"GP", "GLP", "Guadeloupe", "EUR"},
	{"GQ", "GNQ", "Equatorial Guinea", "XAF"},
	{"GR", "GRC", "Greece", "EUR"},
	{"GS", "SGS", "South Georgia and South Sandwich Islands", "GBP"},
	{"GT", "GTM", "Guatemala", "GTQ"},
	{"GU", "GUM", "Guam", "USD"},
	{"GW", "GNB", "Guinea-Bissau", "XOF"},
	{"GY", "GUY", "Guyana", "GYD"},
	{"HK", "HKG", "Hong Kong", "HKD"},
	{"HM", "HMD", "Heard and McDonald Islands", "AUD"},
	{"HN", "HND", "Honduras", "HNL"},
	{"HR", "HRV", "Croatia", "EUR"},
	{"HT", "HTI", "Haiti", "HTG"},
	{"HU", "HUN", "Hungary", "HUF"},
	{"ID", "IDN", "Indonesia", "IDR"},
	{"IE", "IRL", "Ireland", "EUR"},
	{"IL", "ISR", "Israel", "ILS"},
	{"IM", "IMN", "Isle of Man", "GBP"},
	{"IN", "IND", "India", "INR"},
	{"IO", "IOT", "British Indian Ocean Territory", "USD"},
	{"IQ", "IRQ", "Iraq", "IQD"},
	{"IR", "IRN", "Iran", "IRR"},
	{"IS", "ISL", "Iceland", "ISK"},
	{"IT", "ITA", "Italy", "EUR"},
	{"JE", "JEY", "Jersey", "GBP"},
	{"JM", "JAM", "Jamaica", "JMD"},
	{"JO", "JOR", "Jordan", "JOD"},
	{"JP", "JPN", "Japan", "JPY"},
	{"KE", "KEN", "Kenya", "KES"},
	{"KG", "KGZ", "Kyrgyzstan", "KGS"},
	{"KH", "KHM", "Cambodia", "KHR"},
	{"KI", "KIR", "Kiribati", "AUD"},
	{"KM", "COM", "Comoros", "KMF"},
	{"KN", "KNA", "Saint Kitts and Nevis", "XCD"},
	{"KP", "PRK", "North Korea", "KPW"},
	{"KR", "KOR", "South Korea", "KRW"},
	{"KW", "KWT", "Kuwait", "KWD"},
	{"KY", "CYM", "Cayman Islands", "KYD"},
	{"KZ", "KAZ", "Kazakhstan", "KZT"},
	{"LA", "LAO", "Laos", "LAK"},
	{"LB", "LBN", "Lebanon", "LBP"},
	{"LC", "LCA", "Saint Lucia", "XCD"},
	{"LI", "LIE", "Liechtenstein", "CHF"},
	{"LK", "LKA", "Sri Lanka", "LKR"},
	{"LR", "LBR", "Liberia", "LRD"},
	{"LS", "LSO", "Lesotho", "ZAR"},
	{"LT", "LTU", "Lithuania", "EUR"},
	{"LU", "LUX", "Luxembourg", "EUR"},
	{"LV", "LVA", "Latvia", "EUR"},
	{"LY", "LBY", "Libya", "LYD"},
	{"MA", "MAR", "Morocco", "MAD"},
	{"MC", "MCO", "Monaco", "EUR"},
	{"MD", "MDA", "Moldova", "MDL"},
	{"ME", "MNE", "Montenegro", "EUR"},
	{"MF", "MAF", "Saint Martin", "EUR"},
	{"MG", "MDG", "Madagascar", "MGA"},
	{"MH", "MHL", "Marshall Islands", "USD"},
	{"MK", "MKD", "North Macedonia", "MKD"},
	{"ML", "MLI", "Mali", "XOF"},
	{"MM", "MMR", "Myanmar", "MMK"},
	{"MN", "MNG", "Mongolia", "MNT"},
	{"MO", "MAC", "Macao", "MOP"},
	{"MP", "MNP", "Northern Mariana Islands", "USD"},
	{"MQ", "MTQ", "Martinique", "EUR"},
	{"MR", "MRT", "Mauritania", "MRU"},
	{"MS", "MSR", "Montserrat", "XCD"},
	{"MT", "MLT", "Malta", "EUR"},
	{"MU", "MUS", "Mauritius", "MUR"},
	{"MV", "MDV", "Maldives", "MVR"},
	{"MW", "MWI", "Malawi", "MWK"},
	{"MX", "MEX", "Mexico", "MXN"},
	{"MY", "MYS", "Malaysia", "MYR"},
	{"MZ", "MOZ", "Mozambique", "MZN"},
	{"NA", "NAM", "Namibia", "NAD"},
	{"NC", "NCL", "New Caledonia", "XPF"},
	{"NE", "NER", "Niger", "XOF"},
	{"NF", "NFK", "Norfolk Island", "AUD"},
	{"NG", "NGA", "Nigeria", "NGN"},
	{"NI", "NIC", "Nicaragua", "NIO"},
	{"NL", "NLD", "Netherlands", "EUR"},
	{"NO", "NOR", "Norway", "NOK"},
	{"NP", "NPL", "Nepal", "NPR"},
	{"NR", "NRU", "Nauru", "AUD"},
	{"NU", "NIU", "Niue", "NZD"},
	{"NZ", "NZL", "New Zealand", "NZD"},
	{"OM", "OMN", "Oman", "OMR"},
	{"PA", "PAN", "Panama", "PAB"},
	{"PE", "PER", "Peru", "PEN"},
	{"PF", "PYF", "French Polynesia", "XPF"},
	{"PG", "PNG", "Papua New Guinea", "PGK"},
	{"PH", "PHL", "Philippines", "PHP"},
	{"PK", "PAK", "Pakistan", "PKR"},
	{"PL", "POL", "Poland", "PLN"},
	{"PM", "SPM", "Saint Pierre and Miquelon", "EUR"},
	{"PN", "PCN", "Pitcairn Islands", "NZD"},
	{"PR", "PRI", "Puerto Rico", "USD"},
	{"PS", "PSE", "Palestine", "ILS"},
	{"PT", "PRT", "Portugal", "EUR"},
	{"PW", "PLW", "Palau", "USD"},
	{"PY", "PRY", "Paraguay", "PYG"},
	{"QA", "QAT", "Qatar", "QAR"},
	{"RE", "REU", "Réunion", "EUR"},
	{"RO", "ROU", "Romania", "RON"},
	{"RS", "SRB", "Serbia", "RSD"},
	{"RU", "RUS", "Russia", "RUB"},
	{"RW", "RWA", "Rwanda", "RWF"},
	{"SA", "SAU", "Saudi Arabia", "SAR"},
	{"SB", "SLB", "Solomon Islands", "SBD"},
	{"SC", "SYC", "Seychelles", "SCR"},
	{"SD", "SDN", "Sudan", "SDG"},
	{"SE", "SWE", "Sweden", "SEK"},
	{"SG", "SGP", "Singapore", "SGD"},
	{"SH", "SHN", "Saint Helena", "SHP"},
	{"SI", "SVN", "Slovenia", "EUR"},
	{"SJ", "SJM", "Svalbard and Jan Mayen", "NOK"},
	{"SK", "SVK", "Slovakia", "EUR"},
	{"SL", "SLE", "Sierra Leone", "SLE"},
	{"SM", "SMR", "San Marino", "EUR"},
	{"SN", "SEN", "Senegal", "XOF"},
	{"SO", "SOM", "Somalia", "SOS"},
	{"SR", "SUR", "Suriname", "SRD"},
	{"SS", "SSD", "South Sudan", "SSP"},
	{"ST", "STP", "São Tomé and Príncipe", "STN"},
	{"SV", "SLV", "El Salvador", "USD"},
	{"SX", "SXM", "Sint Maarten", "ANG"},
	{"SY", "SYR", "Syria", "SYP"},
	{"SZ", "SWZ", "Eswatini", "SZL"},
	{"TC", "TCA", "Turks and Caicos Islands", "USD"},
	{"TD", "TCD", "Chad", "XAF"},
	{"TF", "ATF", "French Southern Territories", "EUR"},
	{"TG", "TGO", "Togo", "XOF"},
	{"TH", "THA", "Thailand", "THB"},
	{"TJ", "TJK", "Tajikistan", "TJS"},
	{"TK", "TKL", "Tokelau", "NZD"},
	{"TL", "TLS", "Timor-Leste", "USD"},
	{"TM", "TKM", "Turkmenistan", "TMT"},
	{"TN", "TUN", "Tunisia", "TND"},
	{"TO", "TON", "Tonga", "TOP"},
	{"TR", "TUR", "Turkey", "TRY"},
	{"TT", "TTO", "Trinidad and Tobago", "TTD"},
	{"TV", "TUV", "Tuvalu", "AUD"},
	{"TW", "TWN", "Taiwan", "TWD"},
	{"TZ", "TZA", "Tanzania", "TZS"},
	{"UA", "UKR", "Ukraine", "UAH"},
	{"UG", "UGA", "Uganda", "UGX"},
	{"UM", "UMI", "U.S. Outlying Islands", "USD"},
	{"US", "USA", "United States", "USD"},
	{"UY", "URY", "Uruguay", "UYU"},
	{"UZ", "UZB", "Uzbekistan", "UZS"},
	{"VA", "VAT", "Vatican City", "EUR"},
	{"VC", "VCT", "Saint Vincent and Grenadines", "XCD"},
	{"VE", "VEN", "Venezuela", "VES"},
	{"VG", "VGB", "British Virgin Islands", "USD"},
	{"VI", "VIR", "U.S. Virgin Islands", "USD"},
	{"VN", "VNM", "Vietnam", "VND"},
	{"VU", "VUT", "Vanuatu", "VUV"},
	{"WF", "WLF", "Wallis and Futuna", "XPF"},
	{"WS", "WSM", "Samoa", "WST"},
	{"YE", "YEM", "Yemen", "YER"},
	{"YT", "MYT", "Mayotte", "EUR"},
	{"ZA", "ZAF", "South Africa", "ZAR"},
	{"ZM", "ZMB", "Zambia", "ZMW"},
	{"ZW", "ZWE", "Zimbabwe", "USD"},
}

// countryAliases are the other names people write for a country, keyed by
// foldName of the alias.
var countryAliases = map[string]string{
	"unitedstatesofamerica": "USA", "us": "USA", "usa": "USA", "america": "USA", "unitedstates": "USA",
	"uk": "GBR", "greatbritain": "GBR", "britain": "GBR", "england": "GBR", "scotland": "GBR", "wales": "GBR", "northernireland": "GBR",
	"unitedkingdomofgreatbritainandnorthernireland": "GBR",
	"mexique": "MEX", "mejico": "MEX", "méxico": "MEX", "unitedmexicanstates": "MEX",
	"brasil": "BRA", "philippines": "PHL", "thephilippines": "PHL", "pilipinas": "PHL",
	"bharat": "IND", "deutschland": "DEU", "espana": "ESP", "españa": "ESP", "holland": "NLD", "thenetherlands": "NLD",
	"southkorea": "KOR", "korearepublicof": "KOR", "republicofkorea": "KOR", "korea": "KOR",
	"northkorea": "PRK", "russianfederation": "RUS", "vietnam": "VNM", "vietnamsocialistrepublicof": "VNM", "vietnamsocialistrepublic": "VNM",
	"ivorycoast": "CIV", "cotedivoire": "CIV", "drc": "COD", "drcongo": "COD", "democraticrepublicofthecongo": "COD",
	"congodemocraticrepublicofthe": "COD", "republicofthecongo": "COG", "congobrazzaville": "COG", "congokinshasa": "COD",
	"czechrepublic": "CZE", "turkiye": "TUR", "türkiye": "TUR", "burma": "MMR", "swaziland": "SWZ", "macedonia": "MKD",
	"capeverde": "CPV", "caboverde": "CPV", "easttimor": "TLS", "vatican": "VAT", "holysee": "VAT", "laopdr": "LAO",
	"iranislamicrepublicof": "IRN", "syrianarabrepublic": "SYR", "tanzaniaunitedrepublicof": "TZA", "bolivia": "BOL",
	"boliviaplurinationalstateof": "BOL", "venezuelabolivarianrepublicof": "VEN", "moldovarepublicof": "MDA",
	"taiwanprovinceofchina": "TWN", "hongkongsar": "HKG", "macau": "MAC", "uae": "ARE", "emirates": "ARE",
	"saintkittsandnevis": "KNA", "stkittsandnevis": "KNA", "stlucia": "LCA", "stvincentandthegrenadines": "VCT",
	"saintvincentandthegrenadines": "VCT", "trinidad": "TTO", "bosnia": "BIH", "bosniaandherzegovina": "BIH",
	"palestinestateof": "PSE", "micronesiafederatedstatesof": "FSM", "curacao": "CUW", "reunion": "REU",
	"saintbarthelemy": "BLM", "saotomeandprincipe": "STP", "alandislands": "ALA", "caribbeannetherlands": "BES",
	"bonaire": "BES", "falklands": "FLK", "southafrica": "ZAF", "rsa": "ZAF", "newzealand": "NZL", "aotearoa": "NZL",
}

var (
	countryByCode = map[string]*Country{}
	countryByName = map[string]*Country{}
)

func init() {
	for i := range countries {
		c := &countries[i]
		countryByCode[c.Alpha2] = c
		countryByCode[c.Alpha3] = c
		countryByName[foldName(c.Name)] = c
	}
	for alias, code := range countryAliases {
		if c, ok := countryByCode[code]; ok {
			countryByName[foldName(alias)] = c
		} else {
			panic("batch: country alias " + alias + " names unknown code " + code)
		}
	}
}

// LookupCountry finds a country by ISO alpha-3, alpha-2 or English name (case
// and punctuation ignored): "MEX", "mx", "Mexico" all give Mexico.
func LookupCountry(s string) (Country, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Country{}, false
	}
	if len(s) <= 3 {
		if c, ok := countryByCode[strings.ToUpper(s)]; ok {
			return *c, true
		}
	}
	if c, ok := countryByName[foldName(s)]; ok {
		return *c, true
	}
	return Country{}, false
}

// Countries returns every ISO 3166-1 country, in alpha-2 order.
func Countries() []Country {
	return append([]Country(nil), countries...)
}

// foldName lowercases s and keeps only its letters and digits, folding the
// few accented letters that appear in country names, so "Côte d'Ivoire",
// "cote divoire" and "COTE-D'IVOIRE" meet.
func foldName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(s) {
		switch r {
		case 'á', 'à', 'â', 'ä', 'å', 'ã':
			r = 'a'
		case 'é', 'è', 'ê', 'ë':
			r = 'e'
		case 'í', 'ì', 'î', 'ï':
			r = 'i'
		case 'ó', 'ò', 'ô', 'ö', 'õ':
			r = 'o'
		case 'ú', 'ù', 'û', 'ü':
			r = 'u'
		case 'ç':
			r = 'c'
		case 'ñ':
			r = 'n'
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}
