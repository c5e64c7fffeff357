package dedup

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// Kind names one of the three filters.
type Kind int

const (
	// Mail is the filter of mails, keyed by the hash of their body text.
	Mail Kind = iota
	// Attachment is the filter of attachments, keyed by their SHA-256.
	Attachment
	// IP is the filter of sender IP addresses.
	IP
)

var kindNames = [...]string{Mail: "mails", Attachment: "attachments", IP: "ips"}

// String returns "mails", "attachments" or "ips": the name of the kind's
// configuration section and of its file.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Store answers "seen before?" for the analysis. Filters is the
// in-process Store; a store shared by several workers (Redis, NATS KV)
// implements the same interface. SeenOrAdd reports whether key was seen
// before and records it when not, in one step, so that of concurrent
// callers with the same key exactly one gets false. Contains only asks,
// for a caller that records keys once its work is done. Both may block on
// the network and honour ctx; on error the caller treats the key as not
// seen.
type Store interface {
	SeenOrAdd(ctx context.Context, kind Kind, key string) (bool, error)
	Contains(ctx context.Context, kind Kind, key string) (bool, error)
}

var _ Store = (*Filters)(nil)

// Filters groups the three filters and where they persist. A nil
// *Filters, and a nil Set within it (a disabled filter), mean "never
// seen". The Sets may be used directly; SeenOrAdd also normalises keys.
type Filters struct {
	Mails, Attachments, IPs *Set
	dir                     string
}

// FilterConfig configures one filter.
type FilterConfig struct {
	// Whether the filter is used. A disabled filter never reports a key
	// as seen, so everything is analysed in full.
	Enabled bool `yaml:"enabled"`
	// The most keys remembered; the oldest (fifo) or least recently seen
	// (lru) is forgotten to make room. Memory is about 32 bytes a key.
	// Default: 1000000.
	Capacity int `yaml:"capacity"`
	// Which key to forget when full: "lru" (a key seen again is
	// refreshed, so what keeps coming stays filtered) or "fifo" (every
	// key is analysed again after capacity newer ones, as SpamScope did).
	// Default: lru.
	Policy string `yaml:"policy"`
}

// Config configures the three filters.
type Config struct {
	// Mails already seen, by the hash of their body text: a repeat keeps
	// its headers, hashes and attachments but skips the body stages
	// (URLs, phishing, spam score).
	Mails FilterConfig `yaml:"mails"`
	// Attachments already seen, by SHA-256: a repeat keeps its hashes and
	// name but skips extraction and enrichment.
	Attachments FilterConfig `yaml:"attachments"`
	// Sender IP addresses already seen: a repeat skips the IP lookups.
	IPs FilterConfig `yaml:"ips"`
	// Directory where the filters are saved on Close and loaded on start,
	// as mails.seen, attachments.seen and ips.seen; "~/" is the home
	// directory. Empty: the filters live in memory only.
	// Default: ~/.mailsift/seen.
	Dir string `yaml:"dir"`
}

// DefaultCapacity is each filter's default capacity.
const DefaultCapacity = 1_000_000

// DefaultConfig has the three filters enabled, a million keys each, LRU,
// saved in ~/.mailsift/seen.
func DefaultConfig() Config {
	f := FilterConfig{Enabled: true, Capacity: DefaultCapacity, Policy: LRU.String()}
	dir := filepath.Join(".mailsift", "seen")
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		dir = filepath.Join(home, dir)
	}
	return Config{Mails: f, Attachments: f, IPs: f, Dir: dir}
}

// Validate checks every value and reports all problems at once.
func (c Config) Validate() error {
	var probs []string
	for _, k := range []Kind{Mail, Attachment, IP} {
		f := c.filter(k)
		if f.Capacity < 1 || f.Capacity > MaxCapacity {
			probs = append(probs, fmt.Sprintf("%s.capacity must be 1 to %d, not %d", k, MaxCapacity, f.Capacity))
		}
		if _, err := ParsePolicy(f.Policy); err != nil {
			probs = append(probs, fmt.Sprintf("%s.policy must be fifo or lru, not %q", k, f.Policy))
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("dedup: invalid configuration: %s", strings.Join(probs, "; "))
	}
	return nil
}

// Enabled tells whether the filter of kind k is in use.
func (c Config) Enabled(k Kind) bool { return c.filter(k).Enabled }

func (c Config) filter(k Kind) FilterConfig {
	switch k {
	case Attachment:
		return c.Attachments
	case IP:
		return c.IPs
	}
	return c.Mails
}

// Open validates c, makes the enabled filters and loads those saved in
// c.Dir. A missing file gives an empty filter. When a file is corrupt,
// Open returns usable Filters, with that filter empty, together with an
// error wrapping ErrCorrupt that the caller may log before going on; any
// other error comes with nil Filters.
func Open(c Config) (*Filters, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	f := &Filters{dir: expandHome(c.Dir)}
	var corrupt []error
	for _, k := range []Kind{Mail, Attachment, IP} {
		fc := c.filter(k)
		if !fc.Enabled {
			continue
		}
		p, _ := ParsePolicy(fc.Policy)
		s := NewSet(fc.Capacity, p)
		*f.slot(k) = s
		if f.dir == "" {
			continue
		}
		err := s.LoadFile(f.Path(k))
		switch {
		case errors.Is(err, ErrCorrupt):
			corrupt = append(corrupt, err)
		case err != nil:
			return nil, err
		}
	}
	return f, errors.Join(corrupt...)
}

func expandHome(dir string) string {
	rest, ok := strings.CutPrefix(dir, "~/")
	if !ok {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return dir
	}
	return filepath.Join(home, rest)
}

func (f *Filters) slot(k Kind) **Set {
	switch k {
	case Attachment:
		return &f.Attachments
	case IP:
		return &f.IPs
	}
	return &f.Mails
}

// Filter returns the Set of kind k: nil when it is disabled or k unknown.
func (f *Filters) Filter(k Kind) *Set {
	if f == nil || k < Mail || k > IP {
		return nil
	}
	return *f.slot(k)
}

// Path is the file where the filter of kind k persists, or "" when the
// filters are not persisted.
func (f *Filters) Path(k Kind) string {
	if f == nil || f.dir == "" || k < Mail || k > IP {
		return ""
	}
	return filepath.Join(f.dir, k.String()+".seen")
}

// SeenOrAdd asks the filter of kind for key. Hashes are compared without
// regard to case and IP addresses in canonical form ("::ffff:192.0.2.1"
// is "192.0.2.1"). An empty key, a disabled filter and nil Filters give
// false: never seen, nothing recorded. The error is for an unknown kind.
func (f *Filters) SeenOrAdd(_ context.Context, kind Kind, key string) (bool, error) {
	if kind < Mail || kind > IP {
		return false, fmt.Errorf("dedup: seen or add: unknown kind %d", int(kind))
	}
	if key == "" {
		return false, nil
	}
	return f.Filter(kind).SeenOrAdd(Normalize(kind, key)), nil
}

// Contains reports whether key of the given kind was seen, without
// recording it or refreshing it.
func (f *Filters) Contains(_ context.Context, kind Kind, key string) (bool, error) {
	if kind < Mail || kind > IP {
		return false, fmt.Errorf("dedup: contains: unknown kind %d", int(kind))
	}
	if key == "" {
		return false, nil
	}
	return f.Filter(kind).Contains(Normalize(kind, key)), nil
}

// Normalize is the form in which a key is compared: hashes without
// regard to case, IP addresses in canonical form.
func Normalize(kind Kind, key string) string {
	if kind == IP {
		if a, err := netip.ParseAddr(key); err == nil {
			return a.Unmap().WithZone("").String()
		}
		return key
	}
	return strings.ToLower(key)
}

// Save writes every enabled filter to its file, atomically. With no
// directory configured it does nothing.
func (f *Filters) Save() error {
	if f == nil || f.dir == "" {
		return nil
	}
	var errs []error
	for _, k := range []Kind{Mail, Attachment, IP} {
		if s := f.Filter(k); s != nil {
			if err := s.SaveFile(f.Path(k)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Close saves the filters. They still answer afterwards, but only a new
// Save persists what they learn.
func (f *Filters) Close() error {
	return f.Save()
}
