package milter

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"time"

	"github.com/d--j/go-milter/milterutil"
)

// Config is the milter's part of the configuration. Field comments are the
// reference documentation of each key. Every key but listen and max_bytes
// takes effect on reload (Server.SetConfig); those two are read when the
// server starts.
type Config struct {
	// Address the milter listens on: host:port for TCP, or unix:<path> for
	// a Unix socket (which Postfix, chrooted, reaches only inside its
	// queue directory). "" turns the milter off. Postfix: smtpd_milters =
	// inet:127.0.0.1:11332, milter_protocol = 6, milter_default_action =
	// accept.
	Listen string `yaml:"listen"`
	// Most time one message may spend in the scanner. Past it the message
	// goes on marked unknown ("unknown; 0.50; error: scan timed out"), so
	// keep it well below Postfix's milter_content_timeout (300s).
	Timeout time.Duration `yaml:"timeout"`
	// Most body bytes read per message. The header and the first max_bytes
	// of the body of a larger message are scanned (a truncated MIME tree
	// still holds the text and the names of the first attachments), and
	// the rest passes through untouched.
	MaxBytes int64 `yaml:"max_bytes"`
	// Header added to every message with the verdict, in mark's format:
	// "yes; 0.99; word:99 ...". Copies already in the message are removed,
	// so a sender cannot forge it.
	SpamHeader string `yaml:"spam_header"`
	// Header added with the attachment summary when a message has
	// attachments; copies already in the message are removed. "" adds
	// none and removes none.
	AttachmentsHeader string `yaml:"attachments_header"`
	// Add an Authentication-Results header (RFC 8601) at the top of every
	// message: "<authserv_id>; x-mailsift=spam policy.score=0.990", with
	// the result spam, ham, unknown or temperror, and policy.phishing=
	// fail|pass and policy.phishing-weight when the scanner checks for
	// phishing. Authentication-Results headers of authserv_id that carry
	// an x-mailsift result are removed from incoming mail in any case.
	ResultsHeader bool `yaml:"results_header"`
	// The authserv-id of the Authentication-Results header: the name of
	// this mail server. "" means the host name, read at start.
	AuthservID string `yaml:"authserv_id"`
	// Score at or above which the Subject is prefixed with tag_prefix; 0
	// is off.
	TagSubjectAt float64 `yaml:"tag_subject_at"`
	// Prefix of tagged subjects. A subject that already starts with it is
	// left as it is.
	TagPrefix string `yaml:"tag_prefix"`
	// Score at or above which the message is accepted into the MTA's hold
	// queue (Postfix: postqueue -p lists it, postsuper -H releases it); 0
	// is off.
	QuarantineAt float64 `yaml:"quarantine_at"`
	// Score at or above which the message is refused at the end of DATA
	// with "550 5.7.1 <reject_message>"; 0 is off. The sender's server
	// then bounces it, so nothing is lost silently.
	RejectAt float64 `yaml:"reject_at"`
	// Text of the 550 reply.
	RejectMessage string `yaml:"reject_message"`
	// Quarantine messages that the scanner finds to be phishing, whatever
	// their spam score (reject_at still wins).
	QuarantinePhishing bool `yaml:"quarantine_phishing"`
}

// Defaults of the configuration.
const (
	DefaultListen   = "127.0.0.1:11332"
	DefaultTimeout  = 10 * time.Second
	DefaultMaxBytes = 20 << 20
)

// DefaultConfig returns the built-in configuration: headers only, no
// action.
func DefaultConfig() Config {
	return Config{
		Listen:            DefaultListen,
		Timeout:           DefaultTimeout,
		MaxBytes:          DefaultMaxBytes,
		SpamHeader:        "X-Spam",
		AttachmentsHeader: "X-Attachments",
		TagPrefix:         "[SPAM] ",
		RejectMessage:     "Message rejected as spam",
	}
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Listen != "" {
		if _, _, err := listenAddress(c.Listen); err != nil {
			bad("listen: %v", err)
		}
	}
	if c.Timeout <= 0 {
		bad("timeout must be above 0, not %s", c.Timeout)
	}
	if c.MaxBytes < 1 {
		bad("max_bytes must be at least 1, not %d", c.MaxBytes)
	}
	if !headerName(c.SpamHeader) {
		bad("spam_header %q is not a header name (printable ASCII, no space or colon)", c.SpamHeader)
	}
	if c.AttachmentsHeader != "" && !headerName(c.AttachmentsHeader) {
		bad("attachments_header %q is not a header name (printable ASCII, no space or colon)", c.AttachmentsHeader)
	}
	for key, name := range map[string]string{"spam_header": c.SpamHeader, "attachments_header": c.AttachmentsHeader} {
		for _, taken := range []string{"Subject", resultsHeader} {
			if strings.EqualFold(name, taken) {
				bad("%s cannot be %s", key, taken)
			}
		}
	}
	if c.AttachmentsHeader != "" && strings.EqualFold(c.SpamHeader, c.AttachmentsHeader) {
		bad("spam_header and attachments_header are both %q", c.SpamHeader)
	}
	if c.AuthservID != "" && !authservToken(c.AuthservID) {
		bad("authserv_id %q is not a host name (letters, digits, '.', '-', '_')", c.AuthservID)
	}
	thresholds := []struct {
		key string
		v   float64
	}{{"tag_subject_at", c.TagSubjectAt}, {"quarantine_at", c.QuarantineAt}, {"reject_at", c.RejectAt}}
	prev := -1
	for i, t := range thresholds {
		if math.IsNaN(t.v) || t.v < 0 || t.v > 1 {
			bad("%s must be 0 (off) or a score up to 1, not %g", t.key, t.v)
			continue
		}
		if t.v == 0 {
			continue
		}
		if prev >= 0 && t.v < thresholds[prev].v {
			bad("%s (%g) is below %s (%g): a score that reaches it would skip the milder action; want tag_subject_at <= quarantine_at <= reject_at",
				t.key, t.v, thresholds[prev].key, thresholds[prev].v)
		}
		prev = i
	}
	if c.TagSubjectAt > 0 && strings.TrimSpace(c.TagPrefix) == "" {
		bad("tag_prefix is empty but tag_subject_at is set")
	}
	if strings.ContainsFunc(c.TagPrefix, isControl) {
		bad("tag_prefix %q holds a control character", c.TagPrefix)
	}
	if c.RejectAt > 0 {
		if strings.TrimSpace(c.RejectMessage) == "" {
			bad("reject_message is empty but reject_at is set")
		} else if len(c.RejectMessage) > maxRejectMessage {
			bad("reject_message is %d bytes long; at most %d fit one SMTP reply line", len(c.RejectMessage), maxRejectMessage)
		} else if strings.ContainsFunc(c.RejectMessage, isControl) {
			bad("reject_message %q holds a control character", c.RejectMessage)
		} else if _, err := milterutil.FormatResponse(550, rejectCode+c.RejectMessage); err != nil {
			bad("reject_message: %v", err)
		}
	}
	return errors.Join(errs...)
}

// withDefaults fills what a zero Config leaves unusable, so that a Server
// made from a partial Config still marks every message.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.MaxBytes < 1 {
		c.MaxBytes = d.MaxBytes
	}
	if !headerName(c.SpamHeader) {
		c.SpamHeader = d.SpamHeader
	}
	if c.AttachmentsHeader != "" && !headerName(c.AttachmentsHeader) {
		c.AttachmentsHeader = d.AttachmentsHeader
	}
	// A line break in these would start a header field or reply line of
	// its own.
	c.TagPrefix = strings.Map(noControl, c.TagPrefix)
	c.RejectMessage = strings.Map(noControl, c.RejectMessage)
	if strings.TrimSpace(c.TagPrefix) == "" {
		c.TagPrefix = d.TagPrefix
	}
	if strings.TrimSpace(c.RejectMessage) == "" || len(c.RejectMessage) > maxRejectMessage {
		c.RejectMessage = d.RejectMessage
	}
	if c.AuthservID == "" || !authservToken(c.AuthservID) {
		c.AuthservID = hostname()
	}
	return c
}

// Listen opens the listener that Config.Listen names: host:port, or
// unix:<path>. A socket file left behind by a process that is gone is
// replaced; one that still answers is an error.
func Listen(address string) (net.Listener, error) {
	network, addr, err := listenAddress(address)
	if err != nil {
		return nil, fmt.Errorf("milter: listen: %w", err)
	}
	if network == "unix" {
		if fi, err := os.Stat(addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			if c, err := net.DialTimeout("unix", addr, time.Second); err == nil {
				_ = c.Close()
				return nil, fmt.Errorf("milter: listen %s: a server already answers there", address)
			}
			if err := os.Remove(addr); err != nil {
				return nil, fmt.Errorf("milter: listen %s: %w", address, err)
			}
		}
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("milter: %w", err)
	}
	return ln, nil
}

// listenAddress splits "unix:<path>" or "host:port".
func listenAddress(s string) (network, addr string, err error) {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if path == "" {
			return "", "", fmt.Errorf("%q: unix: needs a path", s)
		}
		return "unix", path, nil
	}
	if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
		return "", "", fmt.Errorf("%q: want host:port or unix:<path>", s)
	}
	return "tcp", s, nil
}

// resultsHeader is the name of the RFC 8601 header.
const resultsHeader = "Authentication-Results"

// maxRejectMessage keeps "550 5.7.1 <reject_message>" within the 512
// bytes of an SMTP reply line (RFC 5321, 4.5.3.1.5).
const maxRejectMessage = 400

// rejectCode is the enhanced status code of a rejection (RFC 3463:
// delivery not authorised, message refused).
const rejectCode = "5.7.1 "

// headerName accepts what the milter protocol can add: printable ASCII
// without space and colon.
func headerName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == ':' {
			return false
		}
	}
	return true
}

// authservToken accepts a host name, which is an RFC 2045 token and so a
// valid authserv-id without quoting.
func authservToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// noControl maps a control character to a space, for strings.Map.
func noControl(r rune) rune {
	if isControl(r) {
		return ' '
	}
	return r
}

// hostname is the default authserv-id.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || !authservToken(h) {
		return "localhost"
	}
	return h
}
