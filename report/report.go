// Package report is the contract of mailsift's analysis: one Report per
// mail, as JSON, for files, Elasticsearch/OpenSearch, Redis and any other
// program that reads what mailsift writes.
//
// The types hold data only, with the standard library alone, so that other
// programs can import them without mailsift's dependencies. Field names in
// JSON are lower-case with underscores; empty optional fields are left
// out. Version names the shape: a change that removes or renames a field
// gets a new major version, a new field does not.
//
// Data flows one way: the analysis fills a Report; sinks encode it. A mail
// that could not be read at all still gives a Report, with Error set.
package report

import "time"

//go:generate go run gen_schema.go

// Version of the report format.
const Version = "1.0"

// Report is the analysis of one mail.
type Report struct {
	// Version is the report format's version.
	Version string `json:"version"`
	// ID is the SHA-256 of the raw mail, hex: the same mail always gets the
	// same id, wherever and however often it is analysed.
	ID string `json:"id"`
	// Origin names where the mail came from (a file, "mbox:3", a queue).
	Origin string `json:"origin,omitempty"`
	// AnalysedAt is when the analysis ran, in UTC.
	AnalysedAt time.Time `json:"analysed_at"`
	// Error says why the mail could not be analysed at all.
	Error string `json:"error,omitempty"`

	// Mail is the header's data and the hashes of the whole mail.
	Mail Mail `json:"mail"`
	// Received are the Received hops, oldest first.
	Received []Hop `json:"received,omitempty"`
	// SenderIP is the client address of the first hop received by the
	// configured trusted servers (without them, of the oldest hop with a
	// public address), IPv4 or IPv6.
	SenderIP string `json:"sender_ip,omitempty"`
	// SenderIPFiltered is true when the sender IP was seen before: the IP
	// enrichers were skipped.
	SenderIPFiltered bool `json:"sender_ip_filtered,omitempty"`
	// Defects are what is wrong with the mail's structure or encoding.
	Defects []Defect `json:"defects,omitempty"`
	// Bodies are the text and HTML parts a mail reader shows, and text
	// hidden in preambles and epilogues; left out for a filtered mail.
	Bodies []Body `json:"bodies,omitempty"`
	// Attachments are the files of the mail, those of embedded messages
	// included, each with its archive members.
	Attachments []Attachment `json:"attachments,omitempty"`
	// URLs are the distinct links of the bodies and the attachments.
	URLs []URL `json:"urls,omitempty"`
	// Phishing is the phishing assessment; absent for a filtered mail.
	Phishing *Phishing `json:"phishing,omitempty"`
	// Spam is the token database's verdict, when there is a database.
	Spam *Spam `json:"spam,omitempty"`
	// Filtered is true when the mail (by its body hash) was analysed
	// before: the heavy stages were skipped.
	Filtered bool `json:"is_filtered"`
	// Enrichment holds the IP enrichers' results for the sender IP, by
	// enricher name.
	Enrichment map[string]Enriched `json:"enrichment,omitempty"`
}

// Mail is the message's envelope data and hashes.
type Mail struct {
	// Headers are every header field in order, repeats kept, values
	// decoded (RFC 2047) and unfolded.
	Headers []Header `json:"headers"`
	// From holds the addresses of every From field.
	From []Address `json:"from,omitempty"`
	// To holds the addresses of every To field.
	To []Address `json:"to,omitempty"`
	// Cc holds the addresses of every Cc field.
	Cc []Address `json:"cc,omitempty"`
	// Bcc holds the addresses of every Bcc field.
	Bcc []Address `json:"bcc,omitempty"`
	// ReplyTo holds the addresses of every Reply-To field.
	ReplyTo []Address `json:"reply_to,omitempty"`
	// DeliveredTo holds the addresses of every Delivered-To field.
	DeliveredTo []Address `json:"delivered_to,omitempty"`
	// ReturnPath is the envelope sender the final server recorded.
	ReturnPath string `json:"return_path,omitempty"`
	// ToDomains are the distinct domains of To, Cc and Bcc, sorted.
	ToDomains []string `json:"to_domains,omitempty"`
	// Subject is decoded; repeated Subject fields are joined by a space.
	Subject string `json:"subject,omitempty"`
	// MessageID is the Message-ID without its angle brackets.
	MessageID string `json:"message_id,omitempty"`
	// Date is in UTC.
	Date *time.Time `json:"date,omitempty"`
	// TZOffset is the sender's offset east of UTC in seconds, as the Date
	// header gave it.
	TZOffset int `json:"tz_offset,omitempty"`
	// Size of the raw mail in bytes.
	Size int `json:"size"`
	// Hashes are of the raw mail as given.
	Hashes Hashes `json:"hashes"`
	// BodyHashes are of the decoded text of the bodies (of an HTML body,
	// its visible text), joined by line breaks; the "already seen" filter
	// keys on their SHA-256.
	BodyHashes Hashes `json:"body_hashes"`
	// Custom holds the configured custom headers, by lower-case name.
	Custom map[string][]string `json:"custom,omitempty"`
}

// Header is one header field.
type Header struct {
	// Name as written in the mail.
	Name string `json:"name"`
	// Value unfolded, RFC 2047 words decoded to UTF-8.
	Value string `json:"value"`
}

// Address is a display name and an address.
type Address struct {
	// Name is the display name, decoded.
	Name string `json:"name,omitempty"`
	// Address is local@domain, the domain lower-cased.
	Address string `json:"address"`
}

// Hashes of some bytes; the fuzzy ones are empty when the input is too
// short or too uniform for them, or when they are turned off.
type Hashes struct {
	// MD5 in lower-case hex.
	MD5 string `json:"md5,omitempty"`
	// SHA1 in lower-case hex.
	SHA1 string `json:"sha1,omitempty"`
	// SHA256 in lower-case hex.
	SHA256 string `json:"sha256,omitempty"`
	// SHA512 in lower-case hex.
	SHA512 string `json:"sha512,omitempty"`
	// SSDeep is the context-triggered piecewise hash, of inputs over 4096
	// bytes.
	SSDeep string `json:"ssdeep,omitempty"`
	// TLSH in the "T1" form that VirusTotal and MalwareBazaar use, of
	// inputs of 50 bytes or more that are not too uniform.
	TLSH string `json:"tlsh,omitempty"`
}

// Hop is one Received header; hop 1 is the oldest.
type Hop struct {
	// Number counts from the origin: 1 is the oldest hop.
	Number int `json:"hop"`
	// From is the from clause as written: HELO name, checked name, address.
	From string `json:"from,omitempty"`
	// By is the by clause as written: the receiving server.
	By string `json:"by,omitempty"`
	// With is the protocol, comments removed ("ESMTPS").
	With string `json:"with,omitempty"`
	// ID is the first word of the id clause: the receiving server's queue id.
	ID string `json:"id,omitempty"`
	// For is the first recipient of the for clause.
	For string `json:"for,omitempty"`
	// FromIP is the connecting client's address as the receiving server
	// recorded it.
	FromIP string `json:"from_ip,omitempty"`
	// Date is the hop's time stamp in UTC.
	Date *time.Time `json:"date,omitempty"`
	// DelaySeconds is this hop's date minus the previous hop's; it may be
	// negative (clocks disagree) and is absent when a date is missing.
	DelaySeconds *float64 `json:"delay_seconds,omitempty"`
}

// Defect is something wrong with the mail: a signal, not a failure.
type Defect struct {
	// Name is a stable identifier: "missing-end-boundary", "bad-base64",
	// "unknown-charset", "header-injection", "text-in-epilogue", ...
	Name string `json:"name"`
	// Part is the MIME path ("1.2"; absent for the top level).
	Part string `json:"part,omitempty"`
	// Detail says more, for people.
	Detail string `json:"detail,omitempty"`
}

// Body is a text or HTML body.
type Body struct {
	// Part is the MIME path; "1.epilogue" for text hidden after the
	// closing boundary of multipart 1.
	Part string `json:"part,omitempty"`
	// ContentType is text/plain or text/html (or another text type).
	ContentType string `json:"content_type"`
	// Charset as declared; Text is always UTF-8.
	Charset string `json:"charset,omitempty"`
	// Text is the decoded text.
	Text string `json:"text"`
	// Truncated is true when Text was cut at the configured size.
	Truncated bool `json:"truncated,omitempty"`
}

// Attachment is a file attached to the mail, or a member of an archive.
type Attachment struct {
	// Part is the MIME path of the attachment ("2", "2.1" in an embedded
	// message, "2.msg.3" in an attached Outlook message); members carry
	// their archive's.
	Part string `json:"part,omitempty"`
	// Path is a member's path below its attachment: "a.zip/b/c.exe".
	Path string `json:"path,omitempty"`
	// Filename is the attachment's file name (RFC 2231 and 2047 decoded),
	// or the last element of a member's name.
	Filename string `json:"filename,omitempty"`
	// Extension is the last extension of Filename, lower-case, no dot.
	Extension string `json:"extension,omitempty"`
	// DeclaredType is the Content-Type the mail gives.
	DeclaredType string `json:"declared_type,omitempty"`
	// SniffedType is found from the bytes, whatever the mail claims.
	SniffedType string `json:"sniffed_type,omitempty"`
	// TypeMismatch is true when the sniffed type contradicts the name in a
	// risky way (a program named .pdf).
	TypeMismatch bool `json:"type_mismatch,omitempty"`
	// Executable is true when the extension runs code when opened:
	// programs, scripts, shortcuts, disk images, macro documents.
	Executable bool `json:"executable,omitempty"`
	// DoubleExtension is true for a decoy extension before the real one
	// ("invoice.pdf.exe") or a name reversed by Unicode controls.
	DoubleExtension bool `json:"double_extension,omitempty"`
	// Size in bytes, decoded.
	Size int64 `json:"size"`
	// Hashes of the decoded content.
	Hashes Hashes `json:"hashes"`
	// IsArchive is true for zip, rar, 7z, tar, gzip, bzip2 and xz, opened or not.
	IsArchive bool `json:"is_archive"`
	// Encrypted is true for password-protected content.
	Encrypted bool `json:"encrypted,omitempty"`
	// Members are an archive's files, within the configured limits.
	Members []Attachment `json:"members,omitempty"`
	// Text is extracted from documents (PDF, Office, OpenDocument, RTF,
	// HTML) and text files, capped.
	Text string `json:"text,omitempty"`
	// Truncated is true when Text was cut at the cap.
	Truncated bool `json:"text_truncated,omitempty"`
	// Defects are limits hit and damage found ("ratio-limit: ...").
	Defects []string `json:"defects,omitempty"`
	// Payload is the content, base64, when the configuration asks for it.
	Payload string `json:"payload,omitempty"`
	// Filtered is true when this attachment (by hash) was analysed before.
	Filtered bool `json:"is_filtered"`
	// Enrichment holds the file enrichers' results, by enricher name.
	Enrichment map[string]Enriched `json:"enrichment,omitempty"`
}

// URL is a link found in the mail.
type URL struct {
	// URL is normalised: lower-case scheme, punycode host, no default
	// port, valid escapes, no fragment.
	URL string `json:"url"`
	// Found lists where: body-text, body-html-href, body-html-src,
	// body-html-form, body-html-text, body-meta-refresh, attachment-text,
	// attachment-link.
	Found []string `json:"found"`
	// Scheme is lower-case: http, https, ftp, ...
	Scheme string `json:"scheme"`
	// Host in Unicode (an IP address without brackets).
	Host string `json:"host"`
	// HostASCII is the punycode form, when it differs from Host.
	HostASCII string `json:"host_ascii,omitempty"`
	// Port when not the scheme's default.
	Port string `json:"port,omitempty"`
	// RegisteredDomain is the public suffix plus one label (public suffix
	// list, private section included), punycode.
	RegisteredDomain string `json:"registered_domain,omitempty"`
	// TLD is the public suffix ("co.uk").
	TLD string `json:"tld,omitempty"`
	// Path is percent-encoded.
	Path string `json:"path,omitempty"`
	// Query is without the "?".
	Query string `json:"query,omitempty"`
	// IsIP is true for an IPv4 or IPv6 literal host.
	IsIP bool `json:"is_ip,omitempty"`
	// IsIDN is true when the host has non-ASCII or punycode labels.
	IsIDN bool `json:"is_idn,omitempty"`
	// ObfuscatedIP is true for an IPv4 host written other than as a dotted
	// quad (3232235777, 0xC0.0250.1.1).
	ObfuscatedIP bool `json:"obfuscated_ip,omitempty"`
	// HasUserinfo is true for text before "@" in the authority, which
	// hides the real host ("http://bank.example@evil.example/").
	HasUserinfo bool `json:"has_userinfo,omitempty"`
	// Defanged is true when written as "hxxp://" or "example[.]com".
	Defanged bool `json:"defanged,omitempty"`
	// Whitelisted is true when the host is in a configured whitelist.
	Whitelisted bool `json:"whitelisted,omitempty"`
	// Count is how often the URL occurs in the mail.
	Count int `json:"count"`
	// LinkText is the text of the HTML anchors that point here.
	LinkText []string `json:"link_text,omitempty"`
}

// Phishing is SpamScope's keyword bitmap and mailsift's weighted findings.
type Phishing struct {
	// Score is SpamScope's 8-bit bitmap: 1 body, 2 body URLs, 4 attachment
	// text, 8 attachment URLs, 16 attachment file names, 32 From, 64
	// Subject, 128 HTML form.
	Score int `json:"score"`
	// ScoreExpanded names the set bits, most significant first.
	ScoreExpanded []string `json:"score_expanded"`
	// Targets are the names of the keyword target lists that matched.
	Targets []string `json:"targets"`
	// WithPhishing is SpamScope's flag: a bit is set and the mail has URLs.
	WithPhishing bool `json:"with_phishing"`
	// Findings are the heuristics that fired.
	Findings []Finding `json:"findings,omitempty"`
	// Weight is the sum of the findings' weights and the bitmap's share.
	Weight float64 `json:"weight"`
	// Verdict is true when Weight reached the configured threshold.
	Verdict bool `json:"verdict"`
}

// Finding is one phishing heuristic that fired.
type Finding struct {
	// Name is a stable identifier ("link-text-mismatch", "lookalike-domain").
	Name string `json:"name"`
	// Weight is what it adds to the phishing weight.
	Weight float64 `json:"weight"`
	// Detail names what fired it (a domain, a file name).
	Detail string `json:"detail,omitempty"`
}

// Spam is the token database's verdict.
type Spam struct {
	// Classifier is "default" or "spamoracle".
	Classifier string `json:"classifier"`
	// Score is the spam probability, 0 to 1.
	Score float64 `json:"score"`
	// Verdict is yes, no or unknown.
	Verdict string `json:"verdict"`
	// Words are the tokens that weighed most.
	Words []Word `json:"words,omitempty"`
}

// Word is one token that weighed in the spam verdict.
type Word struct {
	// Word is the token.
	Word string `json:"word"`
	// P is its spam probability.
	P float64 `json:"p"`
}

// Enriched is what an enricher (ClamAV, VirusTotal, ...) added, or the
// error that stopped it.
type Enriched struct {
	// Result is the enricher's own data.
	Result map[string]any `json:"result,omitempty"`
	// Error says why the enricher gave no result; the mail is analysed
	// anyway.
	Error string `json:"error,omitempty"`
}
