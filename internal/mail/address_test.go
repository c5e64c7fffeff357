package mail

import (
	"slices"
	"testing"
)

func TestParseAddressList(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Address
		defect   bool
	}{
		{"empty", "  ", nil, false},
		{"bare", "bob@Example.COM", []Address{{"", "bob@example.com"}}, false},
		{"named", `"Doe, John" <John.Doe@Example.org>, jane@example.org`, []Address{{"Doe, John", "John.Doe@example.org"}, {"", "jane@example.org"}}, false},
		{"escaped quote", `"Jo \"JJ\" Smith" <jo@example.org>`, []Address{{`Jo "JJ" Smith`, "jo@example.org"}}, false},
		{"comment as name", "a@example.org (Alice)", []Address{{"Alice", "a@example.org"}}, false},
		{"encoded utf-8", "=?utf-8?b?0JjQstCw0L0=?= <ivan@example.ru>", []Address{{"Иван", "ivan@example.ru"}}, false},
		{"encoded koi8-r", "=?koi8-r?b?6dfBzg==?= <ivan@example.ru>", []Address{{"Иван", "ivan@example.ru"}}, false},
		{"encoded name with comma", "=?iso-8859-1?q?Doe,_J=F6hn?= <j@example.org>, b@example.net", []Address{{"Doe, Jöhn", "j@example.org"}, {"", "b@example.net"}}, true},
		{"encoded name is an address", "=?utf-8?b?c2VydmljZUBwYXlwYWwuY29t?= <evil@example.ru>", []Address{{"service@paypal.com", "evil@example.ru"}}, false},
		{"address as name", "alice@example.com <bob@example.com>", []Address{{"alice@example.com", "bob@example.com"}}, true},
		{"undisclosed", "undisclosed-recipients:;", nil, false},
		{"group", "Team: a@example.org, c@example.org;", []Address{{"", "a@example.org"}, {"", "c@example.org"}}, false},
		{"group then more", "Team: a@example.org, c@example.org; d@example.org", []Address{{"", "a@example.org"}, {"", "c@example.org"}, {"", "d@example.org"}}, true},
		{"unbalanced quote", `"Bob <bob@example.org>`, []Address{{"Bob", "bob@example.org"}}, true},
		{"missing >", `Bob <bob@example.org, carol@example.org`, []Address{{"Bob", "bob@example.org"}, {"", "carol@example.org"}}, true},
		{"missing > then comma list", `"Roe, Jane" <jane@example.org, "Doe" <doe@example.org>`, []Address{{"Roe, Jane", "jane@example.org"}, {"Doe", "doe@example.org"}}, true},
		{"8-bit latin-1 name", "\xe9t\xe9 <a@Example.org>", []Address{{"été", "a@example.org"}}, true},
		{"raw utf-8 name", "Jöhn <j@example.org>", []Address{{"Jöhn", "j@example.org"}}, false},
		{"mailer-daemon", "<MAILER-DAEMON>", []Address{{"", "MAILER-DAEMON"}}, true},
		{"junk around", "Contact: mail me at x@Example.org!!, or not", []Address{{"mail me at !!", "x@example.org"}}, true},
		{"no address", "John Doe", nil, true},
		{"trailing comma", "a@example.org,", []Address{{"", "a@example.org"}}, false},
		{"source route", "<@relay1.example,@relay2.example:user@Example.org>, x@example.org", []Address{{"", "user@example.org"}, {"", "x@example.org"}}, true},
		{"domain literal", "a@[192.0.2.1]", []Address{{"", "a@[192.0.2.1]"}}, false},
	}
	for _, tt := range tests {
		got, defects := ParseAddressList(tt.in)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
		if (len(defects) > 0) != tt.defect {
			t.Errorf("%s: defects %v", tt.name, defects)
		}
		for _, d := range defects {
			if d.Name != DefectBadAddressList {
				t.Errorf("%s: defect %v", tt.name, d)
			}
		}
	}
}

func TestSplitAddressList(t *testing.T) {
	in := `"a, b" <x@y>, (c, d) e@f, =?utf-8?q?g,h?= <i@j>; <@r1,@r2:k@m>, <n, o@p>`
	want := []string{`"a, b" <x@y>`, ` (c, d) e@f`, ` =?utf-8?q?g,h?= <i@j>`, ` <@r1,@r2:k@m>`, ` <n`, ` o@p>`}
	if got := splitAddressList(in); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDomain(t *testing.T) {
	tests := map[string]string{
		"user@Example.ORG":            "example.org",
		"Name <user@Sub.Example.org>": "sub.example.org",
		"user@example.org.":           "example.org",
		"a@b@Evil.example":            "evil.example",
		"user@[192.0.2.1]":            "[192.0.2.1]",
		"no-at-sign":                  "",
		"":                            "",
		"user@ПРИМЕР.РФ":              "пример.рф",
	}
	for in, want := range tests {
		if got := Domain(in); got != want {
			t.Errorf("Domain(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseAddressList(f *testing.F) {
	for _, s := range []string{`"a, b" <x@y.org>`, "undisclosed-recipients:;", "=?utf-8?q?a,b?= <c@d>", `"unbal <a@b>`, "a@b <c@d>", "<", "=?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list, _ := ParseAddressList(s)
		for _, a := range list {
			if a.Address == "" {
				t.Fatalf("empty address from %q", s)
			}
		}
		_ = Domain(s)
	})
}
