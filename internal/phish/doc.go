// Package phish judges whether a message is phishing: it computes
// SpamScope's keyword bitmap, bit for bit, and a set of weighted findings
// aimed at today's lures, and sums them into a weight and a verdict.
//
// # How data flows
//
// The analysis stage parses the message (internal/mail), extracts its URLs
// (internal/urls) and opens its attachments (internal/attach), and hands
// Check an Input: the Subject and addresses, the body text and raw HTML
// bodies, the URLs with their link texts and sources, the flattened
// attachments and archive members, and the Authentication-Results
// headers. Check reads nothing else, keeps no state between calls and
// returns a report.Phishing. The keyword Lists come from YAML files
// (ParseLists, LoadLists) through a Keywords value that reloads them when
// they change; Config holds the brands, the weights and the threshold.
//
// # The bitmap
//
// The bitmap is SpamScope's (reference section 2.2): bit 0 mail_body,
// 1 urls_body, 2 text_attachments, 3 urls_attachments,
// 4 filename_attachments and 5 mail_from are set when a target rule
// matches the body text, a body URL, the attachment text, a URL of the
// attachments, the attachment and member file names, or the From names
// and addresses; 6 mail_subject when a subject rule matches the Subject;
// 7 mail_form when an HTML body (or a literal tag in a text body) holds
// a <form>. A rule matches when every word is a case-insensitive substring
// of the text; a list matches when any rule does. score_expanded lists the
// set bits most significant first; targets are the names of the matching
// target lists of the four text checks (body, attachment text, file names,
// From), sorted and de-duplicated; with_phishing is score != 0 with at
// least one URL. Two faults of SpamScope are fixed: non-ASCII text is
// searched, and the order of targets is stable. The words of all rules are
// compiled into one Aho-Corasick automaton, so each text is read once
// whatever the size of the lists, and lower-cased only when it is not
// ASCII.
//
// # The findings
//
// Each finding has a name, a weight and a short detail; a name occurs at
// most once. The weight of a message is the sum of its findings, plus
// Config.BitmapWeight for each keyword bit set (bits 0 to 6, and only when
// with_phishing), and the verdict is weight >= Config.Threshold (default
// 1.0). Default weights, overridable by name in Config.Weights:
//
//	lookalike-domain           1.0  a link host or the From domain imitates a brand
//	                                domain (urls.LookAlike) or a recipient's domain
//	link-text-brand-mismatch   1.0  an anchor written as a URL of a brand
//	                                ("https://www.paypal.com") leads elsewhere
//	userinfo-url               1.0  "https://paypal.com@evil.example/"
//	obfuscated-ip              1.0  a host written as a decimal, hex or octal number
//	data-uri                   1.0  a link, form or frame of data:text/html and the like
//	credential-form            1.0  a password field in a body or an HTML attachment
//	html-attachment-form       1.2  an HTML or SVG attachment holding a form
//	executable-attachment      1.0  a program, script, shortcut, disk image or macro
//	                                file (Internet shortcuts aside)
//	double-extension           1.0  "invoice.pdf.exe"
//	ipfs-link                  0.8  an IPFS gateway or content identifier
//	mixed-script-domain        0.8  a label mixing Latin and Cyrillic, Greek or Armenian
//	qr-code-lure               0.8  an image, QR wording and little text: a code to scan,
//	                                which this package cannot decode
//	brand-in-subdomain         0.7  a brand left of the registered domain or of a
//	                                private suffix ("paypal.com.evil.example",
//	                                "netflix-billing.pages.dev")
//	display-name-spoof         0.7  the From name claims a brand (or shows the address
//	                                of a brand or, from a free mailbox, of another
//	                                domain) that the From domain does not back
//	html-attachment-script     0.7  an HTML attachment that redirects, decodes or posts
//	type-mismatch              0.6  the content contradicts the extension
//	encrypted-archive          0.6  a password-protected archive
//	auth-fail                  0.6  dmarc=fail, or spf=fail/softfail without an aligned
//	                                dkim=pass, for the From domain
//	recipient-in-url           0.6  the recipient's address in a link fragment (plain or
//	                                base64), where kits read the victim's login name
//	urgency-language           0.5  lure phrases ("verify your account", "password
//	                                expires", "shared a document with you", also in
//	                                German, French, Spanish, Italian, Portuguese and
//	                                Dutch); counts only with a link, form, QR code,
//	                                HTML attachment or diverging reply address; two or
//	                                more distinct phrases weigh 1.6 times as much
//	brand-in-domain            0.5  a brand inside another registered name
//	                                ("paypal-secure.example", "rnicrosoftonline.com")
//	free-hosting               0.5  serverless, static and object-storage hosts
//	                                (pages.dev, workers.dev, r2.dev, web.app, ...)
//	ip-url                     0.5  a link to a public IP address
//	external-form              0.4  a body form of two fields or more sending to a
//	                                domain that is not the sender's
//	link-text-mismatch         0.4  an anchor showing another domain than it leads to
//	reply-to-freemail          0.4  the reply goes to a free mailbox, the From does not
//	idn-domain                 0.3  an internationalised host name
//	url-shortener              0.3  bit.ly, t.co and the like
//	open-redirect              0.3  a link handing on to another domain through a query
//	                                parameter or path ("google.com/url?q=")
//	user-content-link          0.25 blogs, document shares and form services
//	html-attachment            0.2  an HTML or SVG attachment
//	from-reply-to-mismatch     0.2  Reply-To in another domain than From
//	script-link                0.2  a javascript: link
//	from-return-path-mismatch  0.1  Return-Path in another domain than From
//
// The weights are set so that one strong signal, or two moderate ones,
// reach the threshold, while the signals common in legitimate bulk mail
// stay well below it. Mailing lists set Reply-To and Return-Path to the
// list, and e-mail service providers bounce to their own domains, so
// those mismatches weigh little, and not at all when the other domain is
// the List-Id's, the Sender's, or a known provider's; two domains with
// the same name under different suffixes count as one organisation.
// Newsletters send every link through a tracking redirect: a link text
// naming another domain counts only when the text really is a URL or
// domain (urls.TextURL, not "View in browser"), not when the link goes
// through a known provider's tracker or a redirect to the domain shown,
// and it counts fully only when the domain shown is a brand's and the text
// is written as a URL; a bare name ("Walmart.com") on a page about the
// brand is common. Brand labels that are also words or short names
// ("apple", "office", "live", "citi") count inside host names only next
// to a service word ("apple-support"), and in display names only when the
// name is the brand alone or carries such a word ("Apple Support"). On
// the SpamAssassin public corpus (4,150 ham mails of 2002, lists and
// newsletters included) no ham reaches the threshold.
//
// Brands: Config.Brands maps brand names to the domains they send from and
// link to; DefaultConfig ships the most phished brands. A host belongs to
// a brand when it is one of those domains or below one, or when its
// registered name is the brand's under another public suffix (amazon.de).
//
// # Left out
//
// The package fetches nothing and resolves no names: no URL reputation,
// no page content, no screenshot or logo matching, no QR decoding, no
// reading of images, PDFs or Office files (the attachment stage gives
// their text). It does not judge the Received chain, spam words or the
// sender's history, which other stages report, and it does not learn its
// weights from data.
package phish
