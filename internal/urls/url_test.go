package urls

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want URL // only the fields set here are compared, URL always
	}{
		{"HTTP://Example.COM", URL{URL: "http://example.com/", Host: "example.com", RegisteredDomain: "example.com", TLD: "com"}},
		{"www.Example.com/a b", URL{URL: "http://www.example.com/a%20b", Scheme: "http", Path: "/a%20b"}},
		{"WWW.example.com:8080/x", URL{URL: "http://www.example.com:8080/x", Port: "8080"}},
		{"//cdn.example.net/x.js", URL{URL: "http://cdn.example.net/x.js"}},
		{"https://example.com:443/x?q=1#frag", URL{URL: "https://example.com/x?q=1", Query: "q=1", Fragment: "frag"}},
		{"http://example.com:0080/", URL{URL: "http://example.com/"}},
		{"http://example.com:8443", URL{URL: "http://example.com:8443/", Port: "8443"}},
		{"http://example.com/%7e%zz%4", URL{URL: "http://example.com/%7E%25zz%254"}},
		{"http://example.com/caf\u00e9?q=\"x\"", URL{URL: "http://example.com/caf%C3%A9?q=%22x%22"}},
		{"  http://exa\nmple.com/\tx  ", URL{URL: "http://example.com/x"}},
		{"hxxp://evil[.]example[.]com/x", URL{URL: "http://evil.example.com/x", Defanged: true}},
		{"hXXps[:]//evil(.)com/", URL{URL: "https://evil.com/", Defanged: true}},
		{"http://secure-login.example.co.uk/", URL{URL: "http://secure-login.example.co.uk/", RegisteredDomain: "example.co.uk", ICANNDomain: "example.co.uk", TLD: "co.uk"}},
		{"https://user.github.io/p", URL{URL: "https://user.github.io/p", RegisteredDomain: "user.github.io", ICANNDomain: "github.io", TLD: "github.io", PrivateSuffix: true}},
		{"https://a.b.s3.amazonaws.com/", URL{URL: "https://a.b.s3.amazonaws.com/", RegisteredDomain: "b.s3.amazonaws.com", ICANNDomain: "amazonaws.com", PrivateSuffix: true}},
		{"http://www.paypal.com.evil-site.ru/", URL{URL: "http://www.paypal.com.evil-site.ru/", RegisteredDomain: "evil-site.ru", TLD: "ru"}},
		{"http://пример.рф/путь", URL{URL: "http://xn--e1afmkfd.xn--p1ai/%D0%BF%D1%83%D1%82%D1%8C", Host: "пример.рф", HostASCII: "xn--e1afmkfd.xn--p1ai", RegisteredDomain: "xn--e1afmkfd.xn--p1ai", TLD: "xn--p1ai", IsIDN: true}},
		{"http://xn--80ak6aa92e.com/", URL{URL: "http://xn--80ak6aa92e.com/", Host: "аррӏе.com", IsIDN: true}},
		{"https://ｅｘａｍｐｌｅ.com/x", URL{URL: "https://example.com/x", Host: "example.com"}},
		{"http://%77%77%77.example.com/", URL{URL: "http://www.example.com/"}},
		{"http://_dmarc.example.com./", URL{URL: "http://_dmarc.example.com/", RegisteredDomain: "example.com"}},
		{"http://3232235777/", URL{URL: "http://192.168.1.1/", Host: "192.168.1.1", IsIP: true, ObfuscatedIP: true}},
		{"http://0xC0A80101/x", URL{URL: "http://192.168.1.1/x", IsIP: true, ObfuscatedIP: true}},
		{"http://0300.0250.01.01/", URL{URL: "http://192.168.1.1/", IsIP: true, ObfuscatedIP: true}},
		{"http://192.168.257/", URL{URL: "http://192.168.1.1/", IsIP: true, ObfuscatedIP: true}},
		{"http://0../", URL{URL: "http://0.0.0.0/", IsIP: true, ObfuscatedIP: true}},
		{"http://203.0.113.9:8080/", URL{URL: "http://203.0.113.9:8080/", IsIP: true}},
		{"http://[2001:DB8::1]:8080/x", URL{URL: "http://[2001:db8::1]:8080/x", Host: "2001:db8::1", IsIP: true}},
		{"http://paypal.com@evil.example/login", URL{URL: "http://paypal.com@evil.example/login", Host: "evil.example", Userinfo: "paypal.com", HasUserinfo: true}},
		{"http://user:pw@paypal.com@evil.com/", URL{URL: "http://user:pw%40paypal.com@evil.com/", Host: "evil.com", HasUserinfo: true}},
		{`http://evil.com\@paypal.com/`, URL{URL: "http://evil.com/@paypal.com/", Host: "evil.com"}},
		{`http:\\evil.com\x`, URL{URL: "http://evil.com/x"}},
		{"ftp://files.example.org:21/pub", URL{URL: "ftp://files.example.org/pub"}},
		{"smb://fileserver.example.org/share", URL{URL: "smb://fileserver.example.org/share"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		w := tt.want
		check := func(field, g, w string) {
			if w != "" && g != w {
				t.Errorf("Parse(%q).%s = %q, want %q", tt.in, field, g, w)
			}
		}
		check("URL", got.URL, w.URL)
		check("Scheme", got.Scheme, w.Scheme)
		check("Host", got.Host, w.Host)
		check("HostASCII", got.HostASCII, w.HostASCII)
		check("Port", got.Port, w.Port)
		check("Path", got.Path, w.Path)
		check("Query", got.Query, w.Query)
		check("Fragment", got.Fragment, w.Fragment)
		check("Userinfo", got.Userinfo, w.Userinfo)
		check("RegisteredDomain", got.RegisteredDomain, w.RegisteredDomain)
		check("ICANNDomain", got.ICANNDomain, w.ICANNDomain)
		check("TLD", got.TLD, w.TLD)
		flags := func(field string, g, w bool) {
			if w && !g {
				t.Errorf("Parse(%q).%s = false, want true", tt.in, field)
			}
		}
		flags("IsIP", got.IsIP, w.IsIP)
		flags("ObfuscatedIP", got.ObfuscatedIP, w.ObfuscatedIP)
		flags("IsIDN", got.IsIDN, w.IsIDN)
		flags("HasUserinfo", got.HasUserinfo, w.HasUserinfo)
		flags("Defanged", got.Defanged, w.Defanged)
		flags("PrivateSuffix", got.PrivateSuffix, w.PrivateSuffix)
		if !w.IsIP && got.IsIP || !w.ObfuscatedIP && got.ObfuscatedIP || !w.HasUserinfo && got.HasUserinfo {
			t.Errorf("Parse(%q): unexpected flags %+v", tt.in, got)
		}
	}
}

func TestParseFlagsNegative(t *testing.T) {
	u, err := Parse("http://192.168.1.1/")
	if err != nil || !u.IsIP || u.ObfuscatedIP || u.RegisteredDomain != "" {
		t.Errorf("dotted quad: %+v %v", u, err)
	}
	u, err = Parse("https://example.com/")
	if err != nil || u.IsIDN || u.Defanged || u.PrivateSuffix || u.ICANNDomain != "example.com" {
		t.Errorf("plain: %+v %v", u, err)
	}
	if u.String() != "https://example.com/" {
		t.Errorf("String %q", u.String())
	}
	u, _ = Parse("https://example.com/a#b")
	if u.String() != "https://example.com/a#b" || u.URL != "https://example.com/a" {
		t.Errorf("fragment: String %q URL %q", u.String(), u.URL)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"example.com/x", ErrNoScheme},
		{"", ErrNoScheme},
		{"http://", ErrNoHost},
		{"http:///", ErrNoHost},
		{"http://?q", ErrNoHost},
		{"mailto:someone@example.com", ErrNoHost},
		{"http://999.999.999.999/", ErrBadHost},
		{"http://1.2.3.4.5/", ErrBadHost},
		{"http://[::1/", ErrBadHost},
		{"http://[zz::1]/", ErrBadHost},
		{"http://exa mple.com/", ErrBadHost},
		{"http://a..b.com/", ErrBadHost},
		{"http://example.com:99999/", ErrBadPort},
		{"http://example.com:80a/", ErrBadPort},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("Parse(%q) error %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestRegisteredDomain(t *testing.T) {
	tests := map[string]string{
		"drive.google.com":            "google.com",
		"secure.example.co.uk.":       "example.co.uk",
		"host.github.io":              "host.github.io",
		"ПРИМЕР.РФ":                   "xn--e1afmkfd.xn--p1ai",
		"com":                         "",
		"192.168.0.1":                 "",
		"[2001:db8::1]":               "",
		"localhost":                   "",
		"not a host":                  "",
		"mail.example.unknowntld":     "example.unknowntld",
		"www.paypal.com.evil-site.ru": "evil-site.ru",
	}
	for in, want := range tests {
		if got := RegisteredDomain(in); got != want {
			t.Errorf("RegisteredDomain(%q) = %q, want %q", in, got, want)
		}
	}
}
