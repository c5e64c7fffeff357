package tokenize

import (
	"regexp"
	"slices"
	"testing"
)

// ipv4Re is what nextIPv4 stands for.
var ipv4Re = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)

var ipv4Seeds = []string{
	"from mail.example.com (mail.example.com [192.0.2.17]) by mx.example.net",
	"1.2.3.4 10.0.0.1,172.16.5.4;[8.8.8.8]",
	"1234.5.6.7 1.2.3.4444 1.2.3.4.5 a1.2.3.4 1.2.3.4a _1.2.3.4 1.2.3.4_",
	"1.2.3. 1..2.3.4 .1.2.3.4. 01.002.003.004 999.999.999.999",
	"é1.2.3.4é \xff9.9.9.9\xfe 1.2.3.4",
	"",
}

func allIPv4(s string) []string {
	var out []string
	for {
		ip, rest := nextIPv4(s)
		if ip == "" {
			return out
		}
		out = append(out, ip)
		s = rest
	}
}

func TestNextIPv4IsTheRegexp(t *testing.T) {
	for _, s := range ipv4Seeds {
		if got, want := allIPv4(s), ipv4Re.FindAllString(s, -1); !slices.Equal(got, want) {
			t.Errorf("%q:\n got %q\nwant %q", s, got, want)
		}
	}
}

func FuzzNextIPv4(f *testing.F) {
	for _, s := range ipv4Seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := allIPv4(s), ipv4Re.FindAllString(s, -1); !slices.Equal(got, want) {
			t.Errorf("%q:\n got %q\nwant %q", s, got, want)
		}
	})
}

// domainRe is what nextDomain stands for.
var domainRe = regexp.MustCompile(`@([A-Za-z0-9.-]+\.[A-Za-z]{2,})`)

var domainSeeds = []string{
	`"Bank" <alerts@secure.bank.example>, bob@example.org`,
	"a@b.c a@b.cd a@.cd a@b..cd a@b.c1d a@b.cd1 a@b.cd.e a@b.cd.ef-g a@-x.COM",
	"@@x.org x@y@z.net @a.b.c.de.f @1.2.3.4 a@b.cdé é@x.yz",
	"no address here, @ alone, trailing@",
}

func allDomains(s string) []string {
	var out []string
	for {
		d, rest := nextDomain(s)
		if d == "" {
			return out
		}
		out = append(out, d)
		s = rest
	}
}

func domainsOf(s string) []string {
	var out []string
	for _, m := range domainRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestNextDomainIsTheRegexp(t *testing.T) {
	for _, s := range domainSeeds {
		if got, want := allDomains(s), domainsOf(s); !slices.Equal(got, want) {
			t.Errorf("%q:\n got %q\nwant %q", s, got, want)
		}
	}
}

func FuzzNextDomain(f *testing.F) {
	for _, s := range domainSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := allDomains(s), domainsOf(s); !slices.Equal(got, want) {
			t.Errorf("%q:\n got %q\nwant %q", s, got, want)
		}
	})
}
