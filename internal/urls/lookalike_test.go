package urls

import "testing"

func TestSkeleton(t *testing.T) {
	tests := map[string]string{
		"apple.com":          "apple.com",
		"аррӏе.com":          "apple.com", // Cyrillic а, р, ӏ, е
		"xn--80ak6aa92e.com": "apple.com",
		"XN--80AK6AA92E.COM": "apple.com",
		"paypal.com":         "paypal.com",
		"paypa1.com":         "paypal.com",
		"PAYPAI.COM":         "paypal.com", // capital I looks like l
		"раураl.com":         "paypal.com", // Cyrillic р, а, у
		"rnicrosoft.com":     "mlcrosoft.com",
		"microsoft.com":      "mlcrosoft.com",
		"g00gle.com":         "google.com",
		"ｇｏｏｇｌｅ.com":         "google.com", // full-width
		"gοοgle.com":         "google.com", // Greek omicron
		"vvikipedia.org":     "wlklpedla.org",
		"wikipedia.org":      "wlklpedla.org",
		"bücher.de":          "bucher.de",
		"example.com.":       "example.com",
		"ехаmрlе。com":        "example.com", // ideographic full stop
	}
	for in, want := range tests {
		if got := Skeleton(in); got != want {
			t.Errorf("Skeleton(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLookAlike(t *testing.T) {
	targets := []string{"apple.com", "paypal.com", "microsoft.com", "google.com", "amazon.co.uk", "bankofamerica.com"}
	tests := []struct {
		domain, want string
	}{
		{"аррӏе.com", "apple.com"},
		{"xn--80ak6aa92e.com", "apple.com"},
		{"secure.аррӏе.com", "apple.com"},
		{"аррӏе.net", "apple.com"}, // homoglyphs under another TLD
		{"paypa1.com", "paypal.com"},
		{"paypai.com", "paypal.com"},
		{"paypall.com", "paypal.com"}, // one insertion, label of six letters
		{"rnicrosoft.com", "microsoft.com"},
		{"micosoft.com", "microsoft.com"},
		{"g00gle.com", "google.com"},
		{"ｇｏｏｇｌｅ.com", ""}, // maps to google.com itself: not a look-alike
		{"amazon.co.uk.evil.example", ""},
		{"arnazon.co.uk", "amazon.co.uk"},
		{"bankofarnerica.com", "bankofamerica.com"},
		{"apple.com", ""},
		{"www.apple.com", ""},
		{"apple.net", ""}, // same spelling, other TLD: not a homograph
		{"ample.com", ""}, // one edit from apple, but the label is short
		{"paypal.com.evil.ru", ""},
		{"pineapple.com", ""},
		{"example.org", ""},
		{"192.0.2.1", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := LookAlike(tt.domain, targets)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("LookAlike(%q) = %q %v, want %q", tt.domain, got, ok, tt.want)
		}
	}
}

func TestBrandInSubdomain(t *testing.T) {
	targets := []string{"paypal.com", "apple.com", "amazon.co.uk"}
	tests := []struct {
		host, want string
	}{
		{"paypal.com.evil.ru", "paypal.com"},
		{"www.paypal.com.evil-site.ru", "paypal.com"},
		{"www-paypal.secure-login.example", "paypal.com"},
		{"secure.paypa1.evil.example", "paypal.com"},
		{"login.аррӏе.verify.example", "apple.com"},
		{"amazon.co.uk.account-verify.example", "amazon.co.uk"},
		{"www.paypal.com", ""},
		{"paypal.com", ""},
		{"paypal-login.example", ""}, // the brand is in the registered domain, not a subdomain
		{"paypalmail.evil.example", ""},
		{"evil.example", ""},
		{"192.0.2.1", ""},
	}
	for _, tt := range tests {
		got, ok := BrandInSubdomain(tt.host, targets)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("BrandInSubdomain(%q) = %q %v, want %q", tt.host, got, ok, tt.want)
		}
	}
}

func TestOneEdit(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"paypal", "paypal", true},
		{"paypal", "paypall", true},
		{"paypal", "paypl", true},
		{"paypal", "paypol", true},
		{"paypal", "papyal", false},
		{"paypal", "pay", false},
		{"", "a", true},
		{"аpple", "apple", true},
		{"ааpple", "apple", false},
		{"ёлка", "елка", true},
		{"ёлка", "ёлкаа", true},
	}
	for _, tt := range tests {
		if got := OneEdit(tt.a, tt.b); got != tt.want {
			t.Errorf("OneEdit(%q, %q) = %v", tt.a, tt.b, got)
		}
		if got := OneEdit(tt.b, tt.a); got != tt.want {
			t.Errorf("OneEdit(%q, %q) = %v", tt.b, tt.a, got)
		}
	}
}
