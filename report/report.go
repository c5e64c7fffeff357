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

// Version of the report format.
const Version = "1.0"

// Report is the analysis of one mail.
type Report struct {
	Version string `json:"version"`
	// ID is the SHA-256 of the raw mail, hex: the same mail always gets the
	// same id, wherever and however often it is analysed.
	ID string `json:"id"`
	// Origin names where the mail came from (a file, "mbox:3", a queue).
	Origin     string    `json:"origin,omitempty"`
	AnalysedAt time.Time `json:"analysed_at"`
	// Error says why the mail could not be analysed at all.
	Error string `json:"error,omitempty"`

	Mail        Mail         `json:"mail"`
	Received    []Hop        `json:"received,omitempty"`
	SenderIP    string       `json:"sender_ip,omitempty"`
	Defects     []Defect     `json:"defects,omitempty"`
	Bodies      []Body       `json:"bodies,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	URLs        []URL        `json:"urls,omitempty"`
	Phishing    *Phishing    `json:"phishing,omitempty"`
	Spam        *Spam        `json:"spam,omitempty"`
	// Filtered is true when the mail (by its body hash) was analysed
	// before: the heavy stages were skipped.
	Filtered   bool                `json:"is_filtered"`
	Enrichment map[string]Enriched `json:"enrichment,omitempty"`
}

// Mail is the message's envelope data and hashes.
type Mail struct {
	// Headers are every header field in order, repeats kept, values
	// decoded (RFC 2047) and unfolded.
	Headers     []Header  `json:"headers"`
	From        []Address `json:"from,omitempty"`
	To          []Address `json:"to,omitempty"`
	Cc          []Address `json:"cc,omitempty"`
	Bcc         []Address `json:"bcc,omitempty"`
	ReplyTo     []Address `json:"reply_to,omitempty"`
	DeliveredTo []Address `json:"delivered_to,omitempty"`
	ReturnPath  string    `json:"return_path,omitempty"`
	ToDomains   []string  `json:"to_domains,omitempty"`
	Subject     string    `json:"subject,omitempty"`
	MessageID   string    `json:"message_id,omitempty"`
	// Date is in UTC; TZOffset is the sender's offset east of UTC in
	// seconds, as the Date header gave it.
	Date     *time.Time `json:"date,omitempty"`
	TZOffset int        `json:"tz_offset,omitempty"`
	Size     int        `json:"size"`
	Hashes   Hashes     `json:"hashes"`
	// BodyHashes are of the decoded text of the bodies, joined.
	BodyHashes Hashes `json:"body_hashes"`
	// Custom holds the configured custom headers, by lower-case name.
	Custom map[string][]string `json:"custom,omitempty"`
}

// Header is one header field.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Address is a display name and an address.
type Address struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

// Hashes of some bytes; the fuzzy ones are empty when the input is too
// short or too uniform for them, or when they are turned off.
type Hashes struct {
	MD5    string `json:"md5,omitempty"`
	SHA1   string `json:"sha1,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	SHA512 string `json:"sha512,omitempty"`
	SSDeep string `json:"ssdeep,omitempty"`
	TLSH   string `json:"tlsh,omitempty"`
}

// Hop is one Received header; hop 1 is the oldest.
type Hop struct {
	Number int        `json:"hop"`
	From   string     `json:"from,omitempty"`
	By     string     `json:"by,omitempty"`
	With   string     `json:"with,omitempty"`
	ID     string     `json:"id,omitempty"`
	For    string     `json:"for,omitempty"`
	FromIP string     `json:"from_ip,omitempty"`
	Date   *time.Time `json:"date,omitempty"`
	// DelaySeconds is this hop's date minus the previous hop's; it may be
	// negative (clocks disagree) and is absent when a date is missing.
	DelaySeconds *float64 `json:"delay_seconds,omitempty"`
}

// Defect is something wrong with the mail: a signal, not a failure.
type Defect struct {
	Name   string `json:"name"`
	Part   string `json:"part,omitempty"` // "1.2" style MIME path
	Detail string `json:"detail,omitempty"`
}

// Body is a text or HTML body.
type Body struct {
	Part        string `json:"part,omitempty"`
	ContentType string `json:"content_type"`
	Charset     string `json:"charset,omitempty"`
	Text        string `json:"text"`
	Truncated   bool   `json:"truncated,omitempty"`
}

// Attachment is a file attached to the mail, or a member of an archive.
type Attachment struct {
	Part         string `json:"part,omitempty"`
	Path         string `json:"path,omitempty"` // inside an archive: "a.zip/b/c.exe"
	Filename     string `json:"filename,omitempty"`
	Extension    string `json:"extension,omitempty"`
	DeclaredType string `json:"declared_type,omitempty"`
	SniffedType  string `json:"sniffed_type,omitempty"`
	// TypeMismatch: the sniffed type contradicts the name in a risky way.
	TypeMismatch bool         `json:"type_mismatch,omitempty"`
	Size         int64        `json:"size"`
	Hashes       Hashes       `json:"hashes"`
	IsArchive    bool         `json:"is_archive"`
	Encrypted    bool         `json:"encrypted,omitempty"`
	Members      []Attachment `json:"members,omitempty"`
	Text         string       `json:"text,omitempty"`
	Truncated    bool         `json:"text_truncated,omitempty"`
	Defects      []string     `json:"defects,omitempty"`
	// Payload is the content, base64, when the configuration asks for it.
	Payload string `json:"payload,omitempty"`
	// Filtered is true when this attachment (by hash) was analysed before.
	Filtered   bool                `json:"is_filtered"`
	Enrichment map[string]Enriched `json:"enrichment,omitempty"`
}

// URL is a link found in the mail.
type URL struct {
	URL              string   `json:"url"`
	Found            []string `json:"found"` // where: body-text, body-html-href, attachment-text, ...
	Scheme           string   `json:"scheme"`
	Host             string   `json:"host"`
	HostASCII        string   `json:"host_ascii,omitempty"`
	RegisteredDomain string   `json:"registered_domain,omitempty"`
	TLD              string   `json:"tld,omitempty"`
	Path             string   `json:"path,omitempty"`
	Query            string   `json:"query,omitempty"`
	IsIP             bool     `json:"is_ip,omitempty"`
	IsIDN            bool     `json:"is_idn,omitempty"`
	Whitelisted      bool     `json:"whitelisted,omitempty"`
	// LinkText is the text of the HTML anchors that point here.
	LinkText []string `json:"link_text,omitempty"`
}

// Phishing is SpamScope's keyword bitmap and mailsift's weighted findings.
type Phishing struct {
	// Score is SpamScope's 8-bit bitmap; ScoreExpanded names its set bits.
	Score         int       `json:"score"`
	ScoreExpanded []string  `json:"score_expanded"`
	Targets       []string  `json:"targets"`
	WithPhishing  bool      `json:"with_phishing"`
	Findings      []Finding `json:"findings,omitempty"`
	// Weight is the sum of the findings' weights and the bitmap's share;
	// Verdict is whether it reached the configured threshold.
	Weight  float64 `json:"weight"`
	Verdict bool    `json:"verdict"`
}

// Finding is one phishing heuristic that fired.
type Finding struct {
	Name   string  `json:"name"`
	Weight float64 `json:"weight"`
	Detail string  `json:"detail,omitempty"`
}

// Spam is the token database's verdict.
type Spam struct {
	Classifier string  `json:"classifier"`
	Score      float64 `json:"score"`
	Verdict    string  `json:"verdict"` // yes, no, unknown
	Words      []Word  `json:"words,omitempty"`
}

// Word is one token that weighed in the spam verdict.
type Word struct {
	Word string  `json:"word"`
	P    float64 `json:"p"`
}

// Enriched is what an enricher (ClamAV, VirusTotal, ...) added, or the
// error that stopped it.
type Enriched struct {
	Result map[string]any `json:"result,omitempty"`
	Error  string         `json:"error,omitempty"`
}
