package urls

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/publicsuffix"
)

// Domains is a set of whitelisted domains, each with an optional expiry.
// It is immutable once built and safe for concurrent use; a nil *Domains
// matches nothing.
//
// An entry matches a host that is the entry or one of its subdomains, but
// only at or below the host's registered domain: "google.com" matches
// "drive.google.com", "mail.google.com" matches "x.mail.google.com", and
// "github.io" does not match "evil.github.io", which is registered by
// someone else under a private public suffix.
type Domains struct {
	entries map[string]time.Time // punycode domain -> expiry; zero never expires
}

// Errors of a domain list line, wrapped in a *LineError.
var (
	ErrBadDomain    = errors.New("not a domain name")
	ErrPublicSuffix = errors.New("a public suffix, not a domain")
	ErrBadExpiry    = errors.New("bad expiry date")
	ErrExtraFields  = errors.New("more than a domain and an expiry date")
)

// LineError is a bad line of a domain list.
type LineError struct {
	Line int    // 1-based
	Text string // the line, clipped
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %q: %v", e.Line, e.Text, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// maxLineErrors bounds the line errors reported for one list.
const maxLineErrors = 20

// ParseDomains reads a domain list: one domain per line, optionally
// followed by an expiry date ("example.com 2027-01-01", or an RFC 3339
// time), with '#' starting a comment. A date without a time expires at the
// start of that day, UTC. "*." or "." before a domain is ignored; Unicode
// names are stored in punycode.
//
// The entries of the good lines are always returned. The error, if any,
// joins one *LineError per bad line (the first 20), or reports a read
// failure.
func ParseDomains(r io.Reader) (*Domains, error) {
	d := &Domains{entries: make(map[string]time.Time)}
	var errs []error
	bad := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		domain, exp, err := parseDomainLine(sc.Text())
		if err != nil {
			bad++
			if len(errs) < maxLineErrors {
				errs = append(errs, &LineError{Line: n, Text: clip(strings.TrimSpace(sc.Text()), 80), Err: err})
			}
			continue
		}
		if domain == "" {
			continue
		}
		if old, ok := d.entries[domain]; ok && (old.IsZero() || !exp.IsZero() && old.After(exp)) {
			continue // keep the longer-lived duplicate
		}
		d.entries[domain] = exp
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read: %w", err))
	}
	if bad > maxLineErrors {
		errs = append(errs, fmt.Errorf("%d more bad lines", bad-maxLineErrors))
	}
	return d, errors.Join(errs...)
}

func parseDomainLine(line string) (string, time.Time, error) {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	f := strings.Fields(line)
	switch len(f) {
	case 0:
		return "", time.Time{}, nil
	case 1, 2:
	default:
		return "", time.Time{}, ErrExtraFields
	}
	domain, err := normaliseDomain(f[0])
	if err != nil {
		return "", time.Time{}, err
	}
	var exp time.Time
	if len(f) == 2 {
		if exp, err = parseExpiry(f[1]); err != nil {
			return "", time.Time{}, err
		}
	}
	return domain, exp, nil
}

func normaliseDomain(s string) (string, error) {
	s = strings.TrimPrefix(s, "*.")
	s = strings.TrimPrefix(s, ".")
	s = strings.TrimSuffix(s, ".")
	if s == "" || strings.Contains(s, "/") || strings.Contains(s, ":") {
		return "", ErrBadDomain
	}
	a, err := toASCII(s)
	if err != nil {
		return "", ErrBadDomain
	}
	if _, err := netip.ParseAddr(a); err == nil {
		return "", ErrBadDomain
	}
	if _, _, isIP, _ := parseIPv4(a); isIP {
		return "", ErrBadDomain
	}
	if ps, icann := publicsuffix.PublicSuffix(a); ps == a && icann {
		return "", ErrPublicSuffix
	}
	if !strings.Contains(a, ".") {
		return "", ErrBadDomain
	}
	return a, nil
}

func parseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q (want 2006-01-02 or RFC 3339)", ErrBadExpiry, s)
	}
	return t.UTC(), nil
}

// Len returns the number of entries, expired ones included.
func (d *Domains) Len() int {
	if d == nil {
		return 0
	}
	return len(d.entries)
}

// Match reports whether host (a host name in Unicode or punycode form) is
// covered by an entry that has not expired at now.
func (d *Domains) Match(host string, now time.Time) bool {
	if d == nil || len(d.entries) == 0 {
		return false
	}
	h := strings.TrimSuffix(strings.TrimSpace(host), ".")
	a, err := toASCII(h)
	if err != nil {
		return false
	}
	if _, _, isIP, _ := parseIPv4(a); isIP {
		return false
	}
	rd, _, _, _ := registered(a)
	if rd == "" {
		rd = a // a public suffix itself: only an exact entry
	}
	for s := a; len(s) >= len(rd); {
		if exp, ok := d.entries[s]; ok && (exp.IsZero() || now.Before(exp)) {
			return true
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	return false
}

// Whitelist is a Domains list read from a file and read again when the
// file changes. Reload is cheap when nothing changed (one stat), so callers
// may call it before every use or on a timer; Match and Domains never touch
// the file. It is safe for concurrent use.
type Whitelist struct {
	path string
	cur  atomic.Pointer[Domains]

	mu   sync.Mutex // serialises Reload
	mod  time.Time  // modification time and size of the file last read
	size int64
}

// LoadWhitelist reads the domain list at path. A list with bad lines is an
// error: nothing is returned.
func LoadWhitelist(path string) (*Whitelist, error) {
	w := &Whitelist{path: path}
	if _, err := w.Reload(); err != nil {
		return nil, err
	}
	return w, nil
}

// Reload reads the file again if its modification time or size changed
// since it was last read, and reports whether a new list is in use. When
// the new content has bad lines, or the file cannot be read, the list in
// use is kept and the error returned; a file with bad lines is not read
// again until it changes.
func (w *Whitelist) Reload() (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fi, err := os.Stat(w.path)
	if err != nil {
		return false, fmt.Errorf("urls: whitelist: %w", err)
	}
	if w.cur.Load() != nil && fi.ModTime().Equal(w.mod) && fi.Size() == w.size {
		return false, nil
	}
	f, err := os.Open(w.path)
	if err != nil {
		return false, fmt.Errorf("urls: whitelist: %w", err)
	}
	d, perr := ParseDomains(f)
	if err := f.Close(); err != nil && perr == nil {
		perr = err
	}
	if perr != nil {
		w.mod, w.size = fi.ModTime(), fi.Size()
		if w.cur.Load() == nil {
			w.cur.Store(&Domains{})
		}
		return false, fmt.Errorf("urls: whitelist %s: %w", w.path, perr)
	}
	w.mod, w.size = fi.ModTime(), fi.Size()
	w.cur.Store(d)
	return true, nil
}

// Domains returns the list in use.
func (w *Whitelist) Domains() *Domains { return w.cur.Load() }

// Match reports whether host is covered by the list in use at now.
func (w *Whitelist) Match(host string, now time.Time) bool { return w.Domains().Match(host, now) }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}
