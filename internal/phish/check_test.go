package phish

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/mailsift/mailsift/internal/urls"
	"github.com/mailsift/mailsift/report"
)

// mailInput builds an Input from HTML bodies, extracting URLs as the
// analysis stage does.
func mailInput(from, subject, htmlBody string) *Input {
	in := &Input{Subject: subject}
	if from != "" {
		name, addr := "", from
		if i := strings.LastIndexByte(from, '<'); i >= 0 {
			name, addr = strings.Trim(strings.TrimSpace(from[:i]), `"`), strings.Trim(from[i:], "<>")
		}
		in.From = []Address{{Name: name, Address: addr}}
	}
	if htmlBody != "" {
		in.HTML = []string{htmlBody}
		in.BodyText = visibleText(htmlBody)
		in.BodyURLs = urls.FromHTML(htmlBody)
	}
	return in
}

func textInput(from, subject, text string) *Input {
	in := mailInput(from, subject, "")
	in.BodyText = text
	in.BodyURLs = urls.FromText(text)
	return in
}

func finding(p report.Phishing, name string) (report.Finding, bool) {
	for _, f := range p.Findings {
		if f.Name == name {
			return f, true
		}
	}
	return report.Finding{}, false
}

func TestFindingsFire(t *testing.T) {
	tests := []struct {
		name    string
		in      *Input
		finding string
		detail  string // a substring of the detail
	}{
		{"link text", mailInput("news@shop.example", "", `<a href="http://track.other.example/x">http://www.shop-partner.example/</a>`),
			FindLinkText, "shop-partner.example -> track.other.example"},
		{"link text brand", mailInput("x@evil.example", "", `<a href="http://evil.example/login">https://www.paypal.com/signin</a>`),
			FindLinkTextBrand, "paypal.com -> evil.example"},
		{"reply-to", &Input{From: []Address{{Address: "ceo@corp.example"}}, ReplyTo: []Address{{Address: "ceo@other.example"}}},
			FindReplyTo, "corp.example -> other.example"},
		{"reply-to freemail", &Input{From: []Address{{Address: "ceo@corp.example"}}, ReplyTo: []Address{{Address: "ceo.private@gmail.com"}}},
			FindReplyToFreemail, "gmail.com"},
		{"return-path", &Input{From: []Address{{Address: "a@corp.example"}}, ReturnPath: "b@other.example"},
			FindReturnPath, "other.example"},
		{"lookalike link", mailInput("", "", `<a href="https://paypa1.com/signin">Sign in</a>`), FindLookAlike, "paypa1.com imitates paypal.com"},
		{"lookalike from", &Input{From: []Address{{Address: "support@rnicrosoft.com"}}}, FindLookAlike, "from rnicrosoft.com"},
		{"lookalike recipient", &Input{From: []Address{{Address: "ceo@examp1e-corp.com"}}, To: []Address{{Address: "ap@example-corp.com"}}},
			FindLookAlike, "recipient example-corp.com"},
		{"punycode lookalike", mailInput("", "", `<a href="https://xn--pypal-4ve.com/">x</a>`), FindLookAlike, "paypal.com"},
		{"mixed script", mailInput("", "", `<a href="https://xn--pypal-4ve.com/">x</a>`), FindMixedScript, "xn--pypal-4ve.com"},
		{"idn", mailInput("", "", `<a href="https://bücher-shop.example/">x</a>`), FindIDN, "bücher-shop.example"},
		{"brand in subdomain", mailInput("", "", `<a href="https://paypal.com.account-check.example/">x</a>`), FindBrandInSubdomain, "PayPal"},
		{"brand below private suffix", mailInput("", "", `<a href="https://netflix-billing.pages.dev/">x</a>`), FindBrandInSubdomain, "Netflix"},
		{"generic brand with service word", mailInput("", "", `<a href="https://apple-support.login.example/">x</a>`), FindBrandInSubdomain, "Apple"},
		{"brand in domain", mailInput("", "", `<a href="https://paypal-secure-center.example/">x</a>`), FindBrandInDomain, "PayPal"},
		{"brand prefix in domain", mailInput("", "", `<a href="https://microsoftonlinesupport.example/">x</a>`), FindBrandInDomain, "Microsoft"},
		{"display name brand", &Input{From: []Address{{Name: "PayPal Service", Address: "service@mailer.example"}}}, FindDisplayNameSpoof, "PayPal from mailer.example"},
		{"display name joined", &Input{From: []Address{{Name: "Office365 Admin", Address: "admin@it-desk.example"}}}, FindDisplayNameSpoof, "Office 365"},
		{"display name homoglyph", &Input{From: []Address{{Name: "PаyPal", Address: "x@mailer.example"}}}, FindDisplayNameSpoof, "PayPal"},
		{"display name from freemail", &Input{From: []Address{{Name: "Microsoft Account Team", Address: "ms.team@outlook.com"}}}, FindDisplayNameSpoof, "outlook.com"},
		{"display name address", &Input{From: []Address{{Name: "service@paypal.com", Address: "x@mailer.example"}}}, FindDisplayNameSpoof, "PayPal"},
		{"display name address freemail", &Input{From: []Address{{Name: "ceo@corp.example", Address: "ceo.corp@gmail.com"}}}, FindDisplayNameSpoof, "corp.example"},
		{"credential form", mailInput("", "", `<form action="/x"><input type="password" name="p"></form>`), FindCredentialForm, "body"},
		{"loose password", mailInput("", "", `<input type=password>`), FindCredentialForm, "body"},
		{"external form", mailInput("bank@bank.example", "", `<form action="https://collect.example/post.php"><input name=u><input name=card></form>`), FindExternalForm, "collect.example"},
		{"html attachment form", &Input{Attachments: []Attachment{{Filename: "invoice.html", HTML: `<form action=""><input type="email"></form>`}}}, FindHTMLAttachmentForm, "invoice.html"},
		{"html attachment password", &Input{Attachments: []Attachment{{Filename: "a.htm", HTML: `<form><input type="password"></form>`}}}, FindCredentialForm, "a.htm"},
		{"html attachment script", &Input{Attachments: []Attachment{{Filename: "vm.htm", HTML: `<script>window.location = atob("aHR0cDovL3guZXhhbXBsZS8=")</script>`}}}, FindHTMLAttachmentCode, "window.location, atob"},
		{"html attachment refresh", &Input{Attachments: []Attachment{{Filename: "a.html", HTML: `<meta http-equiv="Refresh" content="0;URL='https://x.example/'">`}}}, FindHTMLAttachmentCode, "meta refresh"},
		{"svg attachment", &Input{Attachments: []Attachment{{Filename: "msg.svg", SniffedType: "image/svg+xml"}}}, FindHTMLAttachment, "msg.svg"},
		{"executable", &Input{Attachments: []Attachment{{Filename: "a.zip"}, {Filename: "run.js", Path: "a.zip/run.js", Executable: true}}}, FindExecutable, "a.zip/run.js"},
		{"double extension", &Input{Attachments: []Attachment{{Filename: "invoice.pdf.exe", DoubleExtension: true, Executable: true}}}, FindDoubleExtension, "invoice.pdf.exe"},
		{"type mismatch", &Input{Attachments: []Attachment{{Filename: "label.pdf", SniffedType: "application/x-dosexec", TypeMismatch: true}}}, FindTypeMismatch, "application/x-dosexec"},
		{"encrypted archive", &Input{Attachments: []Attachment{{Filename: "scan.zip", Encrypted: true}}}, FindEncryptedArchive, "scan.zip"},
		{"ip url", textInput("", "", "see http://203.0.113.9/login.php"), FindIPURL, "203.0.113.9"},
		{"obfuscated ip", textInput("", "", "see http://3405803786/login"), FindObfuscatedIP, "203.0.113.10"},
		{"userinfo", textInput("", "", "see https://www.paypal.com@evil.example/"), FindUserinfo, "www.paypal.com@evil.example"},
		{"shortener", textInput("", "", "https://bit.ly/3xYz"), FindShortener, "bit.ly"},
		{"free hosting", textInput("", "", "https://pub-1a2b.r2.dev/x.html"), FindFreeHosting, "r2.dev"},
		{"object storage", textInput("", "", "https://storage.googleapis.com/bucket-77/index.html"), FindFreeHosting, "storage.googleapis.com"},
		{"ipfs gateway", textInput("", "", "https://gateway.pinata.cloud/ipfs/QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"), FindIPFS, ""},
		{"ipfs subdomain", textInput("", "", "https://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi.ipfs.example-gw.net/"), FindIPFS, ""},
		{"user content", textInput("", "", "https://sites.google.com/view/doc-3381/home"), FindUserContent, "sites.google.com"},
		{"sharepoint anonymous link", textInput("", "", "https://contoso.sharepoint.com/:b:/g/personal/EaBcD"), FindUserContent, "sharepoint.com"},
		{"open redirect", textInput("", "", "https://www.google.com/url?q=https://evil.example/login&sa=D"), FindOpenRedirect, "evil.example"},
		{"redirect target checked", textInput("", "", "https://www.google.com/url?q=https://paypa1.com/login"), FindLookAlike, "paypa1.com"},
		{"data uri", mailInput("", "", `<a href="data:text/html;base64,PGgxPng8L2gxPg==">open</a>`), FindDataURI, "data:text/html"},
		{"script link", mailInput("", "", `<a href="javascript:go()">open</a>`), FindScriptLink, ""},
		{"urgency", textInput("", "Action required", "Your password expires today. Visit https://portal.example/keep"), FindUrgency, "password expires"},
		{"urgency german", textInput("", "", "Ihr Konto wurde gesperrt: https://x.example/"), FindUrgency, "konto wurde gesperrt"},
		{"urgency french", textInput("", "", "Votre compte a été suspendu. https://x.example/"), FindUrgency, "votre compte a ete suspendu"},
		{"qr code", &Input{Subject: "MFA update", BodyText: "Scan the QR code below to keep access.", Attachments: []Attachment{{Filename: "image001.png", SniffedType: "image/png"}}}, FindQRCode, ""},
		{"qr inline", mailInput("", "", `<p>Scan this QR-code with your phone.</p><img src="cid:x">`), FindQRCode, ""},
		{"qr in pdf", &Input{BodyText: "See attached.", Attachments: []Attachment{{Filename: "doc.pdf", Text: "Scan the QR code to sign"}}}, FindQRCode, ""},
		{"dmarc fail", &Input{From: []Address{{Address: "ceo@corp.example"}}, Authentication: "mx.example; spf=pass smtp.mailfrom=x.example; dkim=none; dmarc=fail (p=reject) header.from=corp.example"}, FindAuthFail, "dmarc=fail for corp.example"},
		{"spf softfail", &Input{From: []Address{{Address: "a@corp.example"}}, Authentication: "mx.example;\n spf=softfail smtp.mailfrom=a@corp.example;\n dkim=fail header.d=corp.example"}, FindAuthFail, "spf=softfail"},
		{"recipient in fragment", &Input{To: []Address{{Address: "jane@example.com"}}, BodyURLs: []urls.URL{mustURL(t, "https://x.example/index.html#amFuZUBleGFtcGxlLmNvbQ==", urls.SourceHref)}}, FindRecipientInURL, "jane@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Check(tt.in, nil, nil)
			f, ok := finding(p, tt.finding)
			if !ok {
				t.Fatalf("%s did not fire: %+v", tt.finding, p.Findings)
			}
			if !strings.Contains(f.Detail, tt.detail) {
				t.Errorf("detail %q, want %q in it", f.Detail, tt.detail)
			}
			if f.Weight != defaultWeights[tt.finding] && tt.finding != FindUrgency {
				t.Errorf("weight %v", f.Weight)
			}
		})
	}
}

// TestLegitimateMail checks the counterparts: ordinary mail that must not
// raise the findings named, nor reach the threshold.
func TestLegitimateMail(t *testing.T) {
	tests := []struct {
		name string
		in   *Input
		not  []string // findings that must not fire; nil: none at all
	}{
		{"genuine paypal", func() *Input {
			in := mailInput("PayPal <service@paypal.com>", "Receipt for your payment",
				`<p>You sent a payment of $12.00.</p><a href="https://www.paypal.com/myaccount/transactions">https://www.paypal.com/myaccount</a>
				<img src="https://www.paypalobjects.com/logo.png"><a href="https://www.paypal.com/us/smarthelp/contact-us">Help</a>`)
			in.ReturnPath = "bounce@paypal.com"
			in.Authentication = "mx.example; spf=pass smtp.mailfrom=paypal.com; dkim=pass header.d=paypal.com; dmarc=pass header.from=paypal.com"
			return in
		}(), nil},
		{"newsletter through esp", func() *Input {
			in := mailInput(`"Shop Weekly" <news@shop.example>`, "This week's deals",
				`<a href="https://shop.us5.list-manage.com/track/click?u=1&id=2">View in browser</a>
				<a href="https://shop.us5.list-manage.com/track/click?u=1&id=3">www.shop.example</a>
				<a href="https://click.sendgrid.net/ls/click?upn=abc">https://www.shop.example/deals</a>
				<a href="https://shop.us5.list-manage.com/unsubscribe?u=1">Unsubscribe</a>
				<img src="https://mcusercontent.com/pixel.gif">`)
			in.ReturnPath = "bounce-mc.us5_1234@mail123.atl21.mcsv.net"
			return in
		}(), nil},
		{"brand newsletter through esp", func() *Input {
			in := mailInput(`"Acme Store" <news@acme-store.example>`, "New at Acme",
				`<a href="https://u123.ct.sendgrid.net/ls/click?upn=xyz">www.apple.com</a>`)
			return in
		}(), []string{FindLinkTextBrand}},
		{"tracking redirect to the domain shown", mailInput("news@paper.example", "Headlines",
			`<a href="https://tracker.paper-cdn.example/r?url=https%3A%2F%2Fwww.nytimes.com%2F2026%2Fstory">www.nytimes.com</a>`),
			[]string{FindLinkText, FindLinkTextBrand}},
		{"mailing list", &Input{
			From:       []Address{{Name: "Ann Smith", Address: "ann@university.example"}},
			ReplyTo:    []Address{{Address: "users@lists.project.example"}},
			ReturnPath: "users-bounces@lists.project.example",
			Sender:     "users-bounces@lists.project.example",
			ListID:     "Project users <users.lists.project.example>",
			BodyText:   "See https://project.example/docs and http://192.168.1.10:8080/ on my box.",
			BodyURLs:   urls.FromText("See https://project.example/docs and http://192.168.1.10:8080/ on my box."),
		}, nil},
		{"mailing list munged from", &Input{
			From:    []Address{{Name: "'bob@home.example' via Users", Address: "users@googlegroups.com"}},
			ReplyTo: []Address{{Address: "users@googlegroups.com"}},
		}, nil},
		{"link text click here", mailInput("a@b.example", "", `<a href="https://other.example/">click here</a>`), nil},
		{"bare brand name as link text", mailInput("a@b.example", "", `<a href="https://other.example/x">Walmart.com</a>`),
			[]string{FindLinkTextBrand}},
		{"same organisation", &Input{From: []Address{{Address: "a@news.acme.example"}}, ReplyTo: []Address{{Address: "b@acme.example"}},
			ReturnPath: "c@bounce.acme.example"}, nil},
		{"same name other suffix", &Input{From: []Address{{Address: "a@imakenews.net"}}, ReturnPath: "b@imakenews.com"}, nil},
		{"brand-like words", mailInput("", "", `<a href="https://apple.slashdot.example/">apple</a><a href="https://office.example.edu/">x</a>
			<a href="https://live.example.com/">x</a><a href="https://citi.umich.edu/">x</a><a href="https://www.lindows.com/">x</a>
			<a href="https://paulboutin.weblogger.com/">x</a><a href="https://www.officer.com/">x</a>`), nil},
		{"person named like a brand", &Input{From: []Address{{Name: "Chase Miller", Address: "chase@home.example"}},
			ReplyTo: []Address{{Address: "chase@home.example"}}}, nil},
		{"engineer title", &Input{From: []Address{{Name: "Ing. Hans Meier", Address: "meier@firma.example"}}}, nil},
		{"brand from its own domain", &Input{From: []Address{{Name: "Amazon.de", Address: "versandbestaetigung@amazon.de"}}}, nil},
		{"search form", mailInput("news@cnet.example", "", `<form action="http://www.search.example/redirect"><input type="text" name="q"><input type="submit"></form>`),
			[]string{FindExternalForm, FindCredentialForm}},
		{"shortcut attachment", &Input{Attachments: []Attachment{{Filename: "Liberalism in America.url", Executable: true}}}, nil},
		{"private ip", textInput("", "", "http://10.0.0.1/ and http://127.0.0.1:8080/"), nil},
		{"ftp userinfo", textInput("", "", "ftp://anonymous@ftp.example.org/pub/"), nil},
		{"dkim rescues spf", &Input{From: []Address{{Address: "a@corp.example"}}, Authentication: "mx; spf=softfail smtp.mailfrom=corp.example; dkim=pass header.d=corp.example"}, nil},
		{"urgency without action", textInput("", "", "Your password expires next week, IT will help."), nil},
		{"qr with long text", &Input{BodyText: strings.Repeat("word ", 400) + " qr code", Attachments: []Attachment{{Filename: "a.png"}}}, []string{FindQRCode}},
		{"image without qr", &Input{BodyText: "Photos from the trip, scan attached.", Attachments: []Attachment{{Filename: "a.jpg"}}}, nil},
		{"developer ip literal in html text", mailInput("dev@project.example", "", `<p>Build at http://10.1.2.3/ failed</p>`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Check(tt.in, nil, nil)
			if p.Verdict {
				t.Errorf("verdict true: weight %.2f %+v", p.Weight, p.Findings)
			}
			if tt.not == nil && len(p.Findings) > 0 {
				t.Errorf("findings %+v", p.Findings)
			}
			for _, n := range tt.not {
				if f, ok := finding(p, n); ok {
					t.Errorf("%s fired: %+v", n, f)
				}
			}
		})
	}
}

func TestWeightsAndThreshold(t *testing.T) {
	in := textInput("", "", "https://bit.ly/x and https://pub-1.r2.dev/y")
	p := Check(in, nil, nil)
	if p.Weight != 0.8 || p.Verdict {
		t.Errorf("default: weight %v verdict %v", p.Weight, p.Verdict)
	}
	cfg := DefaultConfig()
	cfg.Weights = map[string]float64{FindShortener: 0.6, FindFreeHosting: 0}
	p = Check(in, nil, &cfg)
	if p.Weight != 0.6 || len(p.Findings) != 1 {
		t.Errorf("overridden: %+v", p)
	}
	cfg.Threshold = 0.5
	if p := Check(in, nil, &cfg); !p.Verdict {
		t.Errorf("threshold 0.5: %+v", p)
	}
	zero := Config{}
	if p := Check(in, nil, &zero); p.Weight != 0.8 || p.Verdict {
		t.Errorf("zero config: %+v", p)
	}
	// Findings are ordered by weight, then name.
	in = textInput("", "", "http://3405803786/ https://bit.ly/x https://www.paypal.com@evil.example/")
	p = Check(in, nil, nil)
	var got []string
	for _, f := range p.Findings {
		got = append(got, f.Name)
	}
	if strings.Join(got, " ") != "obfuscated-ip userinfo-url url-shortener" {
		t.Errorf("order %v", got)
	}
}

func TestDefaultConfigIsFresh(t *testing.T) {
	a := DefaultConfig()
	a.Brands["PayPal"] = nil
	a.Weights[FindIPURL] = 9
	b := DefaultConfig()
	if len(b.Brands["PayPal"]) == 0 || b.Weights[FindIPURL] != defaultWeights[FindIPURL] {
		t.Error("DefaultConfig shares its maps")
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for name := range defaultWeights {
		if !strings.Contains(string(doc), name) {
			t.Errorf("finding %s not documented in doc.go", name)
		}
	}
}

func TestCustomBrands(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Brands = map[string][]string{"Contoso Bank": {"contosobank.example"}}
	p := Check(&Input{From: []Address{{Name: "Contoso Bank", Address: "alerts@mailer.example"}},
		BodyURLs: urls.FromText("https://contosobank-login.example/ https://c0ntosobank.example/")}, nil, &cfg)
	for _, n := range []string{FindDisplayNameSpoof, FindBrandInDomain, FindLookAlike} {
		if _, ok := finding(p, n); !ok {
			t.Errorf("%s did not fire: %+v", n, p.Findings)
		}
	}
	// The default brands are not in use any more.
	if p := Check(mailInput("", "", `<a href="https://paypa1.com/">x</a>`), nil, &cfg); len(p.Findings) != 0 {
		t.Errorf("default brands used: %+v", p.Findings)
	}
}

func TestCheckConcurrent(t *testing.T) {
	a, b := DefaultConfig(), DefaultConfig()
	b.Brands = map[string][]string{"Contoso": {"contoso.example"}}
	in := textInput("", "", "https://paypa1.com/ https://c0ntoso.example/")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cfg := &a
			want := "paypal.com"
			if i%2 == 1 {
				cfg, want = &b, "contoso.example"
			}
			for j := 0; j < 50; j++ {
				f, ok := finding(Check(in, testLists(), cfg), FindLookAlike)
				if !ok || !strings.Contains(f.Detail, want) {
					t.Errorf("config %d: %+v", i%2, f)
					return
				}
			}
		}(i)
	}
	wg.Wait()
}
