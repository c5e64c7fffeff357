package sink

import (
	"encoding/base64"
	"time"

	"github.com/mailsift/mailsift/report"
)

const richID = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func ptr[T any](v T) *T { return &v }

func hashes(seed string) report.Hashes {
	return report.Hashes{
		MD5:    "md5-" + seed,
		SHA1:   "sha1-" + seed,
		SHA256: "sha256-" + seed,
		SHA512: "sha512-" + seed,
		SSDeep: "3:" + seed + ":" + seed,
		TLSH:   "T1" + seed,
	}
}

// richReport has every field of the report set, so that the sinks and
// the index templates meet all of them.
func richReport() *report.Report {
	date := time.Date(2026, 3, 3, 22, 15, 0, 0, time.UTC)
	hop1 := time.Date(2026, 3, 3, 22, 15, 10, 0, time.UTC)
	hop2 := time.Date(2026, 3, 3, 22, 15, 12, 0, time.UTC)
	payload := base64.StdEncoding.EncodeToString([]byte("MZ\x90\x00 not really a program"))
	return &report.Report{
		Version:    report.Version,
		ID:         richID,
		Origin:     "mbox:/var/mail/spam.mbox:3",
		AnalysedAt: time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC),
		Error:      "body 2: charset x-unknown: decoded as latin-1",
		Mail: report.Mail{
			Headers: []report.Header{
				{Name: "Received", Value: "from mx.example.net by mail.example.org"},
				{Name: "Received", Value: "from [198.51.100.7] by mx.example.net"},
				{Name: "From", Value: `"Billing" <billing@Example.COM>`},
				{Name: "Subject", Value: "Your <b>invoice</b> & receipt"},
				{Name: "X-Mailer", Value: "Mass Mailer 3.0"},
			},
			From:        []report.Address{{Name: "Billing", Address: "billing@Example.COM"}},
			To:          []report.Address{{Name: "Ann", Address: "ann@example.org"}, {Address: "bob@example.org"}},
			Cc:          []report.Address{{Name: "Carl", Address: "carl@example.net"}},
			Bcc:         []report.Address{{Name: "Audit", Address: "audit@example.org"}},
			ReplyTo:     []report.Address{{Name: "Support", Address: "support@phish.example"}},
			DeliveredTo: []report.Address{{Name: "Ann", Address: "ann@example.org"}},
			ReturnPath:  "bounce@example.com",
			ToDomains:   []string{"example.org", "phish.example"},
			Subject:     "Your <b>invoice</b> & receipt",
			MessageID:   "20260303221500.1234@example.com",
			Date:        &date,
			TZOffset:    3600,
			Size:        48213,
			Hashes:      hashes("raw"),
			BodyHashes:  hashes("body"),
			Custom: map[string][]string{
				"x-mailer":   {"Mass Mailer 3.0"},
				"user-agent": {"Agent/1", "Agent/2"},
			},
		},
		Received: []report.Hop{
			{Number: 1, From: "[198.51.100.7] (unknown [198.51.100.7])", By: "mx.example.net", With: "ESMTP",
				ID: "4Zx1", For: "ann@example.org", FromIP: "198.51.100.7", Date: &hop1},
			{Number: 2, From: "mx.example.net (mx.example.net [203.0.113.9])", By: "mail.example.org", With: "ESMTPS",
				ID: "9Ab2", For: "ann@example.org", FromIP: "2001:db8::25", Date: &hop2, DelaySeconds: ptr(2.0)},
		},
		SenderIP:         "198.51.100.7",
		SenderIPFiltered: true,
		Defects: []report.Defect{
			{Name: "close-boundary-not-found", Part: "1.2", Detail: "multipart ended without its closing boundary"},
		},
		Bodies: []report.Body{
			{Part: "1.1", ContentType: "text/plain", Charset: "utf-8", Text: "Please pay the attached invoice."},
			{Part: "1.2", ContentType: "text/html", Charset: "iso-8859-1",
				Text: `<p>Pay <a href="http://pay.phish.example/x?a=1&b=2">here</a></p>`, Truncated: true},
		},
		Attachments: []report.Attachment{
			{
				Part: "2", Filename: "invoice.zip", Extension: "zip", DeclaredType: "application/zip",
				SniffedType: "application/zip", Size: 2048, Hashes: hashes("zip"), IsArchive: true,
				Defects: []string{"zip-comment"},
				Members: []report.Attachment{
					{Path: "invoice.zip/docs/invoice.pdf.exe", Filename: "invoice.pdf.exe", Extension: "exe",
						SniffedType: "application/vnd.microsoft.portable-executable", TypeMismatch: true,
						Executable: true, DoubleExtension: true, Size: 1024, Hashes: hashes("exe"), Payload: payload,
						Enrichment: map[string]report.Enriched{
							"clamav": {Result: map[string]any{"infected": true, "signature": "Win.Trojan.Agent"}},
						}},
					{Filename: "inner.7z", Extension: "7z", SniffedType: "application/x-7z-compressed", Size: 512,
						Hashes: hashes("7z"), IsArchive: true, Encrypted: true,
						Members: []report.Attachment{
							{Filename: "notes.txt", Extension: "txt", SniffedType: "text/plain", Size: 40,
								Hashes: hashes("txt"), Text: "encrypted member text", Truncated: true},
						}},
				},
			},
			{
				Part: "3", Filename: "logo.png", Extension: "png", DeclaredType: "image/png", SniffedType: "image/png",
				Size: 300, Hashes: hashes("png"), Filtered: true,
				Enrichment: map[string]report.Enriched{"virustotal": {Error: "quota exceeded"}},
			},
			{
				Part: "4", Filename: "logo-copy.png", Extension: "png", DeclaredType: "image/png", SniffedType: "image/png",
				Size: 300, Hashes: hashes("png"), Filtered: true,
			},
		},
		URLs: []report.URL{
			{URL: "http://pay.phish.example/x?a=1&b=2", Found: []string{"body-html-href", "body-text"}, Scheme: "http",
				Host: "pay.phish.example", HostASCII: "pay.phish.example", RegisteredDomain: "phish.example",
				TLD: "example", Path: "/x", Query: "a=1&b=2", Count: 2, LinkText: []string{"here"}},
			{URL: "http://198.51.100.7:8080/", Found: []string{"attachment-text"}, Scheme: "http", Host: "198.51.100.7",
				Port: "8080", IsIP: true, ObfuscatedIP: true, Count: 1},
			{URL: "http://bank.example@evil.example/", Found: []string{"body-text"}, Scheme: "http", Host: "evil.example",
				RegisteredDomain: "evil.example", TLD: "example", HasUserinfo: true, Defanged: true, Count: 1},
			{URL: "https://bücher.example/", Found: []string{"body-text"}, Scheme: "https", Host: "bücher.example",
				HostASCII: "xn--bcher-kva.example", RegisteredDomain: "bücher.example", TLD: "example", IsIDN: true, Whitelisted: true, Count: 1},
		},
		Phishing: &report.Phishing{
			Score: 123, ScoreExpanded: []string{"mail_body", "urls_body", "mail_subject"}, Targets: []string{"paypal"},
			WithPhishing: true,
			Findings:     []report.Finding{{Name: "reply-to-differs", Weight: 1.5, Detail: "reply-to phish.example, from example.com"}},
			Weight:       4.25, Verdict: true,
		},
		Spam: &report.Spam{Classifier: "default", Score: 0.97, Verdict: "yes",
			Words: []report.Word{{Word: "invoice", P: 0.91}, {Word: "Subject*pay", P: 0.99}}},
		Filtered: true,
		Enrichment: map[string]report.Enriched{
			"shodan": {Result: map[string]any{"ports": []any{25, 587}, "org": "Example Hosting"}},
			"rbl":    {Error: "timeout"},
		},
	}
}

// plainReport is a mail that could not be read: little is set.
func plainReport() *report.Report {
	return &report.Report{
		Version:    report.Version,
		ID:         "0000000000000000000000000000000000000000000000000000000000000001",
		AnalysedAt: time.Date(2026, 3, 4, 23, 59, 59, 0, time.FixedZone("", -5*3600)),
		Error:      "no header section",
		Mail:       report.Mail{Size: 3},
	}
}
