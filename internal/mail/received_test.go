package mail

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// Received lines in the shapes the common servers write. Addresses are from
// the documentation ranges; host names are made up.
const (
	rcvPostfixTLS         = "from mail-out.example.com (mail-out.example.com [198.51.100.23])\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n\t(No client certificate requested)\r\n\tby mx1.ours.example (Postfix) with ESMTPS id 4Q1xYz6kL9z9rxL\r\n\tfor <alice@ours.example>; Tue,  3 Mar 2020 10:00:05 +0100 (CET)"
	rcvPostfixHELOLiteral = "from [10.0.0.1] (unknown [203.0.113.5]) by mx1.ours.example (Postfix) with ESMTP id 9A1B2C3D4E; Tue, 3 Mar 2020 10:00:00 +0100"
	rcvPostfixIPv6        = "from mail.example.com (mail.example.com [IPv6:2001:db8::25]) by mx.ours.example (Postfix) with ESMTPS id 4AbC; Tue, 3 Mar 2020 10:00:00 +0100"
	rcvExim               = "from [198.51.100.7] (helo=mailer.example.org) by mx.ours.example with esmtpsa (TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (Exim 4.94.2) (envelope-from <bounce@example.org>) id 1jA2b3-0004Xy-Qz for bob@ours.example; Tue, 03 Mar 2020 09:00:00 +0000"
	rcvEximRDNS           = "from host.example.org ([198.51.100.8]:49152 helo=EHLO-NAME) by mx.ours.example with esmtp (Exim 4.96) (envelope-from <a@example.org>) id 1pXyZ1-000Abc-2D; Wed, 04 Mar 2020 12:00:00 -0500"
	rcvSendmail           = "from mail.example.net (IDENT:root@mail.example.net [192.0.2.44] (may be forged)) by relay.ours.example (8.15.2/8.15.2) with ESMTP id 023A0Gx5012345 for <carol@ours.example>; Tue, 3 Mar 2020 10:00:16 +0100"
	rcvSendmailLocal      = "(from user@localhost) by host.example.net (8.15.2/8.15.2/Submit) id 023A0G1a012340; Tue, 3 Mar 2020 10:00:16 +0100"
	rcvExchange           = "from AM6PR04MB1234.eurprd04.prod.outlook.com (2603:10a6:20b:12::34) by AM6PR04MB5678.eurprd04.prod.outlook.com (2603:10a6:20b:56::78) with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.2750.21; Tue, 3 Mar 2020 09:00:00 +0000"
	rcvExchangeFrontend   = "from EX01.corp.example (10.0.0.5) by EX02.corp.example (10.0.0.6) with Microsoft SMTP Server (TLS) id 15.0.1497.2 via Frontend Transport; Tue, 3 Mar 2020 10:00:00 +0100"
	rcvGmail              = "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by mx.google.com with SMTPS id a1sor123456wrq.12.2020.03.03.01.00.00 for <dave@gmail.com> (Google Transport Security); Tue, 03 Mar 2020 01:00:00 -0800 (PST)"
	rcvGmailInternal      = "by 2002:a05:6402:1234:0:0:0:0 with SMTP id x1csp123456ede; Tue, 3 Mar 2020 01:00:01 -0800 (PST)"
	rcvQmailLocal         = "(qmail 12345 invoked by uid 89); 3 Mar 2020 09:00:00 -0000"
	rcvQmailNetwork       = "from unknown (HELO [10.0.0.1]) (203.0.113.9) by mx.ours.example with SMTP; 3 Mar 2020 09:00:00 -0000"
	rcvSendGrid           = "by filter0123p1mdw1.sendgrid.net with SMTP id filter0123p1mdw1-12345-5E5E1234-1 2020-03-03 09:00:00.123456789 +0000 UTC m=+123.456"
	rcvIBM                = "from d06av21.portsmouth.example.com (d06av21.portsmouth.example.com [9.149.105.232]) by b06cxnps4074.portsmouth.example.com (8.14.9/8.14.9/NCO v10.0) with ESMTP id 023A0GVv45678901 for <x@ibm.example> from <y@ibm.example>; Tue, 3 Mar 2020 10:00:16 GMT"
	rcvByTLD              = "from mail.example.by (mail.example.by [192.0.2.9]) by mx.ours.example id abc-by; Tue, 3 Mar 2020 10:00:00 +0000"
	rcvNoDate             = "from a.example (a.example [192.0.2.1]) by b.example with SMTP id X"
	rcvObsoleteZone       = "from a.example ([192.0.2.2]) by b.example; Tue, 3 Mar 2020 10:00:00 EST"
)

func TestParseReceived(t *testing.T) {
	tests := []struct {
		name, in string
		want     Hop // Raw is not compared; FromIP compared as text
		date     string
	}{
		{"postfix tls", rcvPostfixTLS, Hop{FromHost: "mail-out.example.com", ByHost: "mx1.ours.example", By: "mx1.ours.example (Postfix)", With: "ESMTPS", ID: "4Q1xYz6kL9z9rxL", For: "alice@ours.example", FromIP: netip.MustParseAddr("198.51.100.23"), TZOffset: 3600}, "2020-03-03T09:00:05Z"},
		{"postfix helo literal", rcvPostfixHELOLiteral, Hop{FromHost: "[10.0.0.1]", From: "[10.0.0.1] (unknown [203.0.113.5])", ByHost: "mx1.ours.example", With: "ESMTP", ID: "9A1B2C3D4E", FromIP: netip.MustParseAddr("203.0.113.5"), TZOffset: 3600}, "2020-03-03T09:00:00Z"},
		{"postfix ipv6", rcvPostfixIPv6, Hop{FromHost: "mail.example.com", ByHost: "mx.ours.example", With: "ESMTPS", ID: "4AbC", FromIP: netip.MustParseAddr("2001:db8::25"), TZOffset: 3600}, "2020-03-03T09:00:00Z"},
		{"exim", rcvExim, Hop{FromHost: "[198.51.100.7]", ByHost: "mx.ours.example", With: "esmtpsa tls TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", ID: "1jA2b3-0004Xy-Qz", For: "bob@ours.example", EnvelopeFrom: "bounce@example.org", FromIP: netip.MustParseAddr("198.51.100.7")}, "2020-03-03T09:00:00Z"},
		{"exim rdns", rcvEximRDNS, Hop{FromHost: "host.example.org", ByHost: "mx.ours.example", With: "esmtp", ID: "1pXyZ1-000Abc-2D", EnvelopeFrom: "a@example.org", FromIP: netip.MustParseAddr("198.51.100.8"), TZOffset: -5 * 3600}, "2020-03-04T17:00:00Z"},
		{"sendmail", rcvSendmail, Hop{FromHost: "mail.example.net", ByHost: "relay.ours.example", By: "relay.ours.example (8.15.2/8.15.2)", With: "ESMTP", ID: "023A0Gx5012345", For: "carol@ours.example", FromIP: netip.MustParseAddr("192.0.2.44"), TZOffset: 3600}, "2020-03-03T09:00:16Z"},
		{"sendmail local", rcvSendmailLocal, Hop{ByHost: "host.example.net", ID: "023A0G1a012340", TZOffset: 3600}, "2020-03-03T09:00:16Z"},
		{"exchange", rcvExchange, Hop{FromHost: "AM6PR04MB1234.eurprd04.prod.outlook.com", ByHost: "AM6PR04MB5678.eurprd04.prod.outlook.com", With: "Microsoft SMTP Server", ID: "15.20.2750.21", FromIP: netip.MustParseAddr("2603:10a6:20b:12::34")}, "2020-03-03T09:00:00Z"},
		{"exchange frontend", rcvExchangeFrontend, Hop{FromHost: "EX01.corp.example", ByHost: "EX02.corp.example", With: "Microsoft SMTP Server", ID: "15.0.1497.2", Via: "Frontend Transport", FromIP: netip.MustParseAddr("10.0.0.5"), TZOffset: 3600}, "2020-03-03T09:00:00Z"},
		{"gmail", rcvGmail, Hop{FromHost: "mail-sor-f41.google.com", ByHost: "mx.google.com", With: "SMTPS", ID: "a1sor123456wrq.12.2020.03.03.01.00.00", For: "dave@gmail.com", FromIP: netip.MustParseAddr("209.85.220.41"), TZOffset: -8 * 3600}, "2020-03-03T09:00:00Z"},
		{"gmail internal", rcvGmailInternal, Hop{ByHost: "2002:a05:6402:1234:0:0:0:0", With: "SMTP", ID: "x1csp123456ede", TZOffset: -8 * 3600}, "2020-03-03T09:00:01Z"},
		{"qmail local", rcvQmailLocal, Hop{}, "2020-03-03T09:00:00Z"},
		{"qmail network", rcvQmailNetwork, Hop{FromHost: "unknown", ByHost: "mx.ours.example", With: "SMTP", FromIP: netip.MustParseAddr("203.0.113.9")}, "2020-03-03T09:00:00Z"},
		{"sendgrid", rcvSendGrid, Hop{ByHost: "filter0123p1mdw1.sendgrid.net", With: "SMTP", ID: "filter0123p1mdw1-12345-5E5E1234-1"}, "2020-03-03T09:00:00.123456789Z"},
		{"ibm for-from", rcvIBM, Hop{FromHost: "d06av21.portsmouth.example.com", ByHost: "b06cxnps4074.portsmouth.example.com", With: "ESMTP", ID: "023A0GVv45678901", For: "x@ibm.example", FromIP: netip.MustParseAddr("9.149.105.232")}, "2020-03-03T10:00:16Z"},
		{".by tld", rcvByTLD, Hop{FromHost: "mail.example.by", ByHost: "mx.ours.example", ID: "abc-by", FromIP: netip.MustParseAddr("192.0.2.9")}, "2020-03-03T10:00:00Z"},
		{"no date", rcvNoDate, Hop{FromHost: "a.example", ByHost: "b.example", With: "SMTP", ID: "X", FromIP: netip.MustParseAddr("192.0.2.1")}, ""},
		{"obsolete zone", rcvObsoleteZone, Hop{FromHost: "a.example", ByHost: "b.example", FromIP: netip.MustParseAddr("192.0.2.2"), TZOffset: -5 * 3600}, "2020-03-03T15:00:00Z"},
	}
	for _, tt := range tests {
		// Fields arrive unfolded from the header parser.
		got := ParseReceived(unfold([]byte(tt.in)))
		w := tt.want
		str := func(field, g, w string) {
			if w != "" && g != w {
				t.Errorf("%s: %s = %q, want %q", tt.name, field, g, w)
			}
		}
		str("FromHost", got.FromHost, w.FromHost)
		str("From", got.From, w.From)
		str("By", got.By, w.By)
		str("ByHost", got.ByHost, w.ByHost)
		str("With", got.With, w.With)
		str("ID", got.ID, w.ID)
		str("For", got.For, w.For)
		str("Via", got.Via, w.Via)
		str("EnvelopeFrom", got.EnvelopeFrom, w.EnvelopeFrom)
		if got.FromIP != w.FromIP {
			t.Errorf("%s: FromIP = %v, want %v", tt.name, got.FromIP, w.FromIP)
		}
		if w.FromHost == "" && got.FromHost != "" || w.ByHost == "" && got.ByHost != "" {
			t.Errorf("%s: unexpected clauses %+v", tt.name, got)
		}
		gotDate := ""
		if !got.Date.IsZero() {
			gotDate = got.Date.Format(time.RFC3339Nano)
			if got.Date.Location() != time.UTC {
				t.Errorf("%s: date not in UTC: %v", tt.name, got.Date)
			}
		}
		if gotDate != tt.date || got.TZOffset != w.TZOffset {
			t.Errorf("%s: date %q offset %d, want %q %d", tt.name, gotDate, got.TZOffset, tt.date, w.TZOffset)
		}
		if got.Raw == "" {
			t.Errorf("%s: Raw not kept", tt.name)
		}
	}
}

func TestParseReceivedGarbage(t *testing.T) {
	for _, in := range []string{
		"", ";", "((((", "from", "from by with id for via ;", "this is ( not [ a received < header",
		"from [IPv6:zz] (x [999.1.1.1]) by ; not a date", "from \xff\xfe (\xe9 [192.0.2.1]) by x; Tue, 3 Mar 2020 10:00:00 +0100",
		strings.Repeat("from x (y [192.0.2.1]) ", 1000),
	} {
		h := ParseReceived(in)
		if h.Raw != in {
			t.Errorf("Raw not kept for %q", in)
		}
	}
	if h := ParseReceived("from \xe9t\xe9 (x [192.0.2.1]) by y; Tue, 3 Mar 2020 10:00:00 +0100"); h.FromHost != "été" || !h.FromIP.IsValid() {
		t.Errorf("8-bit from: %+v", h)
	}
}

func receivedHeader(vals ...string) Header {
	var h Header
	h = append(h, Field{Name: "Return-Path", Value: "<x@example.org>"})
	for _, v := range vals {
		h = append(h, Field{Name: "Received", Value: v})
	}
	return append(h, Field{Name: "Subject", Value: "hi"})
}

func TestReceivedChain(t *testing.T) {
	h := receivedHeader(
		"from mx1.ours.example (mx1.ours.example [10.1.0.5]) by store.ours.example (Postfix) with ESMTP id AAA; Tue, 3 Mar 2020 10:00:07 +0100",
		unfold([]byte(rcvPostfixTLS)),
		"from [192.168.1.20] (helo=laptop) by mail-out.example.com with esmtpsa id 1jA; Tue, 03 Mar 2020 09:00:08 +0000",
		"from localhost by laptop; no date here",
	)
	hops := ReceivedChain(h)
	if len(hops) != 4 {
		t.Fatalf("%d hops", len(hops))
	}
	for i, hop := range hops {
		if hop.Number != i+1 {
			t.Errorf("hop %d numbered %d", i, hop.Number)
		}
	}
	if hops[0].ByHost != "laptop" || hops[3].ByHost != "store.ours.example" {
		t.Errorf("order: oldest by %q, newest by %q", hops[0].ByHost, hops[3].ByHost)
	}
	wantDelay := []struct {
		has bool
		d   time.Duration
	}{{false, 0}, {false, 0}, {true, -3 * time.Second}, {true, 2 * time.Second}}
	for i, w := range wantDelay {
		if hops[i].HasDelay != w.has || hops[i].Delay != w.d {
			t.Errorf("hop %d: delay %v (has %v), want %v (%v)", i+1, hops[i].Delay, hops[i].HasDelay, w.d, w.has)
		}
	}
	if got := ReceivedChain(Header{{Name: "Subject", Value: "x"}}); len(got) != 0 {
		t.Errorf("no Received: %v", got)
	}
}

func TestSenderIP(t *testing.T) {
	chain := ReceivedChain(receivedHeader(
		"from mx1.ours.example (mx1.ours.example [10.1.0.5]) by store.ours.example (Postfix) with ESMTP id AAA; Tue, 3 Mar 2020 10:00:07 +0100",
		unfold([]byte(rcvPostfixTLS)),
		"from [192.168.1.20] (helo=laptop) by mail-out.example.com with esmtpsa id 1jA; Tue, 03 Mar 2020 09:00:08 +0000",
	))
	// Two of our public servers relay to each other before delivery.
	publicRelays := ReceivedChain(receivedHeader(
		"from mx2.ours.example (mx2.ours.example [198.51.100.200]) by store.ours.example with ESMTP id B; Tue, 3 Mar 2020 10:00:09 +0100",
		"from mx1.ours.example (mx1.ours.example [198.51.100.100]) by mx2.ours.example with ESMTP id A; Tue, 3 Mar 2020 10:00:08 +0100",
		unfold([]byte(rcvPostfixTLS)),
	))
	// A host name containing "by" confused the text-before-"by" rule.
	nearby := ReceivedChain(receivedHeader(
		"from nearby.example (nearby.example [203.0.113.77]) by mx1.ours.example (Postfix) with ESMTP id N; Tue, 3 Mar 2020 10:00:00 +0100",
	))
	// The client claims our name as HELO; the hop below is not ours.
	forgedHELO := ReceivedChain(receivedHeader(
		"from mx1.ours.example (unknown [203.0.113.66]) by mx1.ours.example (Postfix) with ESMTP id F; Tue, 3 Mar 2020 10:00:00 +0100",
		"from evil.example ([192.0.2.200]) by evil.example; Tue, 3 Mar 2020 09:59:00 +0100",
	))
	internalOnly := ReceivedChain(receivedHeader(
		"from pc.ours.example (pc.ours.example [10.2.0.9]) by mx1.ours.example with ESMTP id I; Tue, 3 Mar 2020 10:00:00 +0100",
	))
	ipv6 := ReceivedChain(receivedHeader(unfold([]byte(rcvPostfixIPv6))))
	tests := []struct {
		name  string
		hops  []Hop
		trust string
		want  string
	}{
		{"entry below internal relay", chain, "ours.example", "198.51.100.23"},
		{"trust names the mx only", chain, "mx1.ours.example", "198.51.100.23"},
		{"case-insensitive", chain, " OURS.Example ", "198.51.100.23"},
		{"no trust: oldest public", chain, "", "198.51.100.23"},
		{"trust not found", chain, "elsewhere.example", ""},
		{"public relays of ours", publicRelays, "ours.example", "198.51.100.23"},
		{"public relays, trust one server", publicRelays, "store.ours.example", "198.51.100.200"},
		{"nearby", nearby, "ours.example", "203.0.113.77"},
		{"forged helo", forgedHELO, "ours.example", "203.0.113.66"},
		{"internal sender", internalOnly, "ours.example", ""},
		{"ipv6", ipv6, "ours.example", "2001:db8::25"},
		{"no hops", nil, "ours.example", ""},
	}
	for _, tt := range tests {
		got, ok := SenderIP(tt.hops, tt.trust)
		gs := ""
		if ok {
			gs = got.String()
		}
		if gs != tt.want {
			t.Errorf("%s: SenderIP = %q (%v), want %q", tt.name, gs, ok, tt.want)
		}
	}
}

func TestPublicIP(t *testing.T) {
	for s, want := range map[string]bool{
		"198.51.100.23": true, "2001:db8::25": true, "8.8.8.8": true,
		"10.0.0.1": false, "192.168.1.1": false, "172.16.0.1": false, "127.0.0.1": false,
		"::1": false, "fe80::1": false, "fd00::1": false, "100.64.0.1": false, "0.0.0.0": false,
		"169.254.1.1": false, "224.0.0.1": false,
	} {
		if got := publicIP(netip.MustParseAddr(s)); got != want {
			t.Errorf("publicIP(%s) = %v", s, got)
		}
	}
	if publicIP(netip.Addr{}) {
		t.Error("zero address public")
	}
}

func FuzzParseReceived(f *testing.F) {
	for _, s := range []string{rcvPostfixTLS, rcvExim, rcvExchange, rcvGmailInternal, rcvQmailNetwork, rcvSendGrid, rcvIBM, "((", "from [", "by x; 1 Jan"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := ParseReceived(s)
		if h.Raw != s {
			t.Fatal("Raw not kept")
		}
		if !h.Date.IsZero() && h.Date.Location() != time.UTC {
			t.Fatalf("date not UTC: %v", h.Date)
		}
		hops := ReceivedChain(Header{{Name: "Received", Value: s}, {Name: "Received", Value: s}})
		if len(hops) != 2 || hops[1].HasDelay != !h.Date.IsZero() || hops[1].Delay != 0 {
			t.Fatalf("chain of equal hops: %+v", hops)
		}
		_, _ = SenderIP(hops, "x")
		_, _ = SenderIP(hops, "")
	})
}
