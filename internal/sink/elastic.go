package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailsift/mailsift/report"
)

// DefaultPrefix is the index names' default prefix; the shipped index
// templates match it.
const DefaultPrefix = "mailsift"

// ElasticDoc is one document for Elasticsearch or OpenSearch: the index
// it goes to, its _id (empty: the server picks one) and its source, which
// encodes to JSON.
type ElasticDoc struct {
	Index string
	ID    string
	Body  any
}

// ElasticDocs splits r into the documents of the two daily indices
// "<prefix>-mails-YYYY.MM.DD" and "<prefix>-attachments-YYYY.MM.DD",
// dated by r.AnalysedAt in UTC. prefix should pass CheckIndexPrefix.
//
// The first document is the mail, with _id r.ID: the report with every
// field the mail index template maps, except that each attachment and
// archive member is reduced to a summary (names, types, size, hashes,
// flags) in one flat list with its path, custom headers and enrichments
// are lists of name and value instead of objects keyed by name (so that
// new names never add fields to the mapping), an address carries its
// domain, and "@timestamp" repeats analysed_at.
//
// Then comes one document per attachment and per archive member, in
// depth-first order, parent before members, with _id "<mail id>-<sha256>"
// and "-2", "-3" for further copies of the same file in the same mail.
// Each holds the attachment's summary, its extracted text, payload and
// enrichments, a short list of its direct members, and the mail's id,
// date, subject, message id and sender for joins. The same file in two
// mails gives two documents: each copy has its own name, place and
// verdicts, the daily indices would split one-per-file anyway, and
// re-indexing a mail replaces its documents instead of adding to them.
func ElasticDocs(r *report.Report, prefix string) []ElasticDoc {
	day := r.AnalysedAt.UTC().Format("2006.01.02")
	mailIndex := prefix + "-mails-" + day
	attIndex := prefix + "-attachments-" + day
	at := r.AnalysedAt.UTC()

	m := mailDoc{
		Timestamp:        at,
		Version:          r.Version,
		ID:               r.ID,
		Origin:           r.Origin,
		AnalysedAt:       at,
		Error:            r.Error,
		Mail:             mailFieldsOf(&r.Mail),
		Received:         r.Received,
		SenderIP:         r.SenderIP,
		SenderIPFiltered: r.SenderIPFiltered,
		Defects:          r.Defects,
		Bodies:           r.Bodies,
		WithAttachments:  len(r.Attachments) > 0,
		URLs:             r.URLs,
		Phishing:         r.Phishing,
		Spam:             r.Spam,
		Filtered:         r.Filtered,
		Enrichment:       enrichmentOf(r.Enrichment),
	}
	ref := mailRef{ID: r.ID, Date: r.Mail.Date, Subject: r.Mail.Subject, MessageID: r.Mail.MessageID, From: m.Mail.From}

	var atts []ElasticDoc
	copies := map[string]int{}
	var walk func(list []report.Attachment, parent *attachmentSummary)
	walk = func(list []report.Attachment, parent *attachmentSummary) {
		for i := range list {
			a := &list[i]
			s := summarize(a, parent)
			m.Attachments = append(m.Attachments, s)
			doc := attachmentDoc{
				Timestamp:         at,
				AnalysedAt:        at,
				Mail:              ref,
				attachmentSummary: s,
				Text:              a.Text,
				Payload:           a.Payload,
				Enrichment:        enrichmentOf(a.Enrichment),
			}
			for j := range a.Members {
				c := summarize(&a.Members[j], &s)
				doc.Members = append(doc.Members, memberRef{Path: c.Path, Filename: c.Filename, Size: c.Size, SHA256: c.Hashes.SHA256})
			}
			atts = append(atts, ElasticDoc{Index: attIndex, ID: attachmentID(r.ID, a.Hashes.SHA256, len(atts)+1, copies), Body: doc})
			walk(a.Members, &s)
		}
	}
	walk(r.Attachments, nil)
	return append([]ElasticDoc{{Index: mailIndex, ID: r.ID, Body: m}}, atts...)
}

// attachmentID is "<mail id>-<sha256>", with "-N" for the Nth copy of a
// file in the mail, or "<mail id>-nK" for the Kth attachment when it has
// no hash. Without a mail id the server picks the ids.
func attachmentID(mailID, sha256 string, k int, copies map[string]int) string {
	if mailID == "" {
		return ""
	}
	if sha256 == "" {
		return mailID + "-n" + strconv.Itoa(k)
	}
	id := mailID + "-" + strings.ToLower(sha256)
	copies[id]++
	if n := copies[id]; n > 1 {
		id += "-" + strconv.Itoa(n)
	}
	return id
}

// WriteBulk writes docs as the body of an Elasticsearch or OpenSearch
// _bulk request: for each, an "index" action line naming its index and
// _id, then its source on one line. The output is NDJSON ending in a
// newline, written with a single Write, so that a failure to encode
// leaves nothing half-written.
func WriteBulk(w io.Writer, docs []ElasticDoc) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, d := range docs {
		if d.Index == "" {
			return fmt.Errorf("sink: bulk: document %d has no index", i)
		}
		if err := enc.Encode(bulkAction{Index: bulkMeta{Index: d.Index, ID: d.ID}}); err != nil {
			return fmt.Errorf("sink: bulk: document %d: %w", i, err)
		}
		if err := enc.Encode(d.Body); err != nil {
			return fmt.Errorf("sink: bulk: document %d: %w", i, err)
		}
	}
	n, err := w.Write(buf.Bytes())
	if err == nil && n < buf.Len() {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("sink: bulk: %w", err)
	}
	return nil
}

type bulkAction struct {
	Index bulkMeta `json:"index"`
}

type bulkMeta struct {
	Index string `json:"_index"`
	ID    string `json:"_id,omitempty"`
}

// CheckIndexPrefix reports whether prefix can start Elasticsearch and
// OpenSearch index names: lower-case, at most 200 bytes, not starting
// with "-", "_" or "+", and without \ / * ? " < > | , # : or spaces.
func CheckIndexPrefix(prefix string) error {
	switch {
	case prefix == "" || prefix == "." || prefix == "..":
		return fmt.Errorf("sink: index prefix %q: empty or a dot name", prefix)
	case len(prefix) > 200:
		return fmt.Errorf("sink: index prefix %q: longer than 200 bytes", prefix)
	case strings.ContainsAny(prefix[:1], "-_+"):
		return fmt.Errorf("sink: index prefix %q: starts with %q", prefix, prefix[:1])
	case strings.ContainsAny(prefix, "\\/*?\"<>|,#: \t\r\n"):
		return fmt.Errorf("sink: index prefix %q: has a character index names forbid", prefix)
	case strings.ToLower(prefix) != prefix:
		return fmt.Errorf("sink: index prefix %q: not lower-case", prefix)
	}
	return nil
}

// mailDoc is a mail's document in the mails index.
type mailDoc struct {
	Timestamp        time.Time           `json:"@timestamp"`
	Version          string              `json:"version"`
	ID               string              `json:"id"`
	Origin           string              `json:"origin,omitempty"`
	AnalysedAt       time.Time           `json:"analysed_at"`
	Error            string              `json:"error,omitempty"`
	Mail             mailFields          `json:"mail"`
	Received         []report.Hop        `json:"received,omitempty"`
	SenderIP         string              `json:"sender_ip,omitempty"`
	SenderIPFiltered bool                `json:"sender_ip_filtered,omitempty"`
	Defects          []report.Defect     `json:"defects,omitempty"`
	Bodies           []report.Body       `json:"bodies,omitempty"`
	WithAttachments  bool                `json:"with_attachments"`
	Attachments      []attachmentSummary `json:"attachments,omitempty"`
	URLs             []report.URL        `json:"urls,omitempty"`
	Phishing         *report.Phishing    `json:"phishing,omitempty"`
	Spam             *report.Spam        `json:"spam,omitempty"`
	Filtered         bool                `json:"is_filtered"`
	Enrichment       []enrichment        `json:"enrichment,omitempty"`
}

// mailFields is report.Mail with addresses that carry their domain and
// custom headers as a list.
type mailFields struct {
	Headers     []report.Header `json:"headers"`
	From        []address       `json:"from,omitempty"`
	To          []address       `json:"to,omitempty"`
	Cc          []address       `json:"cc,omitempty"`
	Bcc         []address       `json:"bcc,omitempty"`
	ReplyTo     []address       `json:"reply_to,omitempty"`
	DeliveredTo []address       `json:"delivered_to,omitempty"`
	ReturnPath  string          `json:"return_path,omitempty"`
	ToDomains   []string        `json:"to_domains,omitempty"`
	Subject     string          `json:"subject,omitempty"`
	MessageID   string          `json:"message_id,omitempty"`
	Date        *time.Time      `json:"date,omitempty"`
	TZOffset    int             `json:"tz_offset,omitempty"`
	Size        int             `json:"size"`
	Hashes      report.Hashes   `json:"hashes"`
	BodyHashes  report.Hashes   `json:"body_hashes"`
	Custom      []report.Header `json:"custom,omitempty"`
}

func mailFieldsOf(m *report.Mail) mailFields {
	f := mailFields{
		Headers:     m.Headers,
		From:        addresses(m.From),
		To:          addresses(m.To),
		Cc:          addresses(m.Cc),
		Bcc:         addresses(m.Bcc),
		ReplyTo:     addresses(m.ReplyTo),
		DeliveredTo: addresses(m.DeliveredTo),
		ReturnPath:  m.ReturnPath,
		ToDomains:   m.ToDomains,
		Subject:     m.Subject,
		MessageID:   m.MessageID,
		Date:        m.Date,
		TZOffset:    m.TZOffset,
		Size:        m.Size,
		Hashes:      m.Hashes,
		BodyHashes:  m.BodyHashes,
	}
	if f.Headers == nil {
		f.Headers = []report.Header{}
	}
	for _, name := range sortedKeys(m.Custom) {
		for _, v := range m.Custom[name] {
			f.Custom = append(f.Custom, report.Header{Name: name, Value: v})
		}
	}
	return f
}

type address struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
	Domain  string `json:"domain,omitempty"`
}

func addresses(list []report.Address) []address {
	if len(list) == 0 {
		return nil
	}
	out := make([]address, len(list))
	for i, a := range list {
		out[i] = address{Name: a.Name, Address: a.Address}
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 {
			out[i].Domain = strings.ToLower(a.Address[at+1:])
		}
	}
	return out
}

// attachmentSummary is an attachment or archive member without its
// content: its entry in the mail document, and the core of its own.
type attachmentSummary struct {
	Part            string        `json:"part,omitempty"`
	Path            string        `json:"path,omitempty"`
	Filename        string        `json:"filename,omitempty"`
	Extension       string        `json:"extension,omitempty"`
	DeclaredType    string        `json:"declared_type,omitempty"`
	SniffedType     string        `json:"sniffed_type,omitempty"`
	TypeMismatch    bool          `json:"type_mismatch,omitempty"`
	Executable      bool          `json:"executable,omitempty"`
	DoubleExtension bool          `json:"double_extension,omitempty"`
	Size            int64         `json:"size"`
	Hashes          report.Hashes `json:"hashes"`
	IsArchive       bool          `json:"is_archive"`
	Encrypted       bool          `json:"encrypted,omitempty"`
	// Archived is true for a member of an archive; ParentSHA256 is then
	// the hash of the archive that holds it.
	Archived      bool     `json:"is_archived"`
	ParentSHA256  string   `json:"parent_sha256,omitempty"`
	Defects       []string `json:"defects,omitempty"`
	TextTruncated bool     `json:"text_truncated,omitempty"`
	Filtered      bool     `json:"is_filtered"`
}

// summarize reduces a to its summary. A path missing from the report is
// made from the parent's path and the file name.
func summarize(a *report.Attachment, parent *attachmentSummary) attachmentSummary {
	s := attachmentSummary{
		Part:            a.Part,
		Path:            a.Path,
		Filename:        a.Filename,
		Extension:       a.Extension,
		DeclaredType:    a.DeclaredType,
		SniffedType:     a.SniffedType,
		TypeMismatch:    a.TypeMismatch,
		Executable:      a.Executable,
		DoubleExtension: a.DoubleExtension,
		Size:            a.Size,
		Hashes:          a.Hashes,
		IsArchive:       a.IsArchive,
		Encrypted:       a.Encrypted,
		Defects:         a.Defects,
		TextTruncated:   a.Truncated,
		Filtered:        a.Filtered,
	}
	if parent != nil {
		s.Archived = true
		s.ParentSHA256 = parent.Hashes.SHA256
	}
	if s.Path == "" {
		s.Path = a.Filename
		if parent != nil && parent.Path != "" && a.Filename != "" {
			s.Path = parent.Path + "/" + a.Filename
		}
	}
	return s
}

// attachmentDoc is an attachment's or archive member's document in the
// attachments index.
type attachmentDoc struct {
	Timestamp  time.Time `json:"@timestamp"`
	AnalysedAt time.Time `json:"analysed_at"`
	Mail       mailRef   `json:"mail"`
	attachmentSummary
	Members    []memberRef  `json:"members,omitempty"`
	Text       string       `json:"text,omitempty"`
	Payload    string       `json:"payload,omitempty"`
	Enrichment []enrichment `json:"enrichment,omitempty"`
}

// mailRef is what an attachment document repeats of its mail.
type mailRef struct {
	ID        string     `json:"id"`
	Date      *time.Time `json:"date,omitempty"`
	Subject   string     `json:"subject,omitempty"`
	MessageID string     `json:"message_id,omitempty"`
	From      []address  `json:"from,omitempty"`
}

// memberRef names a direct member of an archive in the archive's
// document; the member has its own document too.
type memberRef struct {
	Path     string `json:"path,omitempty"`
	Filename string `json:"filename,omitempty"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256,omitempty"`
}

// enrichment is one enricher's output. Result is kept in the source but
// not indexed: its shape is the enricher's, and indexing it is what broke
// SpamScope's mappings.
type enrichment struct {
	Name   string         `json:"name"`
	Error  string         `json:"error,omitempty"`
	Result map[string]any `json:"result,omitempty"`
}

func enrichmentOf(m map[string]report.Enriched) []enrichment {
	var out []enrichment
	for _, name := range sortedKeys(m) {
		out = append(out, enrichment{Name: name, Error: m[name].Error, Result: m[name].Result})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
