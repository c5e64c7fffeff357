// Package urls finds the URLs of a message, normalises them, and gives the
// phishing stage the domain facts it needs.
//
// Data flows from text to URL values. A Set collects the URLs of one
// message: AddText scans plain text, AddHTML walks an HTML document, and
// URLs returns what was found, de-duplicated by normalised URL in the order
// of first appearance and capped by Limits. Every URL records its Source
// (the text, an href, a src, a form action, a meta refresh, the visible text
// or a script of an HTML part) and, for anchors, the visible link texts, so
// that a link showing one domain and pointing to another can be spotted.
//
// Plain text is scanned in two steps because the URL regular expression
// (mvdan.cc/xurls/v2) runs at about 1 MB/s: a byte scan first finds the
// anchors a URL must contain ("://" and "www.", in their defanged forms
// too), and only the short blank-delimited windows around them reach the
// regular expression, under a byte budget per message. HTML is read with the
// golang.org/x/net/html tokenizer, so entities are decoded and relative
// links are resolved against <base href>.
//
// Parse normalises one URL: defanged forms ("hxxp", "[.]") are refanged,
// scheme and host are lower-cased, a scheme-less "www." gets http, default
// ports are dropped, invalid percent escapes are repaired, obfuscated IPv4
// hosts (decimal, hex, octal) are decoded and flagged, IDN hosts are kept in
// both Unicode and punycode form (golang.org/x/net/idna), and the registered
// domain comes from the public suffix list (golang.org/x/net/publicsuffix),
// with and without the private section.
//
// Beside extraction the package holds a domain whitelist with expiry dates
// that reloads when its file changes (Whitelist), and look-alike checks for
// the phishing stage (Skeleton, LookAlike, BrandInSubdomain).
//
// Deliberately left out: fetching URLs, resolving names, following
// redirects, URL reputation, and scoring. Bare domains without a scheme or
// "www." ("example.com/login") are not extracted from text, because file
// names and version strings look the same; TextURL reads them from link
// texts, where the phishing stage needs them.
package urls
