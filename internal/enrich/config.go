package enrich

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// APIKeyEnv is the environment variable VirusTotal's API key is read from
// when the configuration names neither a key nor a key file.
const APIKeyEnv = "MAILSIFT_VT_API_KEY"

// Config holds the enrichers' settings. Every enricher is off by default.
// Field comments are the reference documentation of each key.
type Config struct {
	// ClamAV scans attachments with a clamd daemon.
	ClamAV ClamAVConfig `yaml:"clamav"`
	// VirusTotal looks attachments (by hash) and the sender IP up in
	// VirusTotal.
	VirusTotal VirusTotalConfig `yaml:"virustotal"`
}

// ClamAVConfig configures the clamd client.
type ClamAVConfig struct {
	// Scan attachments and archive members with clamd. Default: false.
	Enabled bool `yaml:"enabled"`
	// Where clamd listens: "unix:<path>" or "tcp:<host>:<port>".
	// Default: "unix:/run/clamav/clamd.ctl", Debian's LocalSocket.
	Address string `yaml:"address"`
	// Longest time for one scan, connecting included. Default: 30s.
	Timeout time.Duration `yaml:"timeout"`
	// Largest file sent to clamd, in bytes; larger files get an error
	// without being sent. Keep it at or below clamd's StreamMaxLength.
	// Default: 26214400 (25 MiB, clamd's default StreamMaxLength).
	MaxBytes int64 `yaml:"max_bytes"`
	// Scan results kept in memory, by SHA-256; 0 turns the cache off.
	// Default: 10000.
	CacheSize int `yaml:"cache_size"`
	// How long a cached result is trusted (signatures change); 0 keeps it
	// until it is evicted. Default: 1h.
	CacheTTL time.Duration `yaml:"cache_ttl"`
}

// VirusTotalConfig configures the VirusTotal v3 client.
type VirusTotalConfig struct {
	// Look files and IPs up in VirusTotal. Only hashes and the sender IP
	// are sent; files are never uploaded. Default: false.
	Enabled bool `yaml:"enabled"`
	// The API key. Leave it empty to read it from APIKeyFile or, when that
	// is empty too, from $MAILSIFT_VT_API_KEY.
	APIKey string `yaml:"api_key"`
	// File holding the API key (surrounding white space is ignored).
	APIKeyFile string `yaml:"api_key_file"`
	// Base URL of the API. Default: "https://www.virustotal.com/api/v3".
	BaseURL string `yaml:"base_url"`
	// Most requests per minute, files and IPs together; callers wait for
	// their turn within their timeout. Default: 4, the public API's quota.
	RequestsPerMinute int `yaml:"requests_per_minute"`
	// Longest time for one lookup, waiting for the rate limit included.
	// Default: 30s.
	Timeout time.Duration `yaml:"timeout"`
	// Lookups kept in memory per kind (files by SHA-256, IPs by address),
	// "not found" answers included; 0 turns the cache off. Default: 10000.
	CacheSize int `yaml:"cache_size"`
	// How long a cached answer is trusted; 0 keeps it until it is evicted.
	// Default: 24h.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// Look attachments and archive members up by hash. Default: true.
	Files bool `yaml:"files"`
	// Look the sender IP up. Default: true.
	IPs bool `yaml:"ips"`
}

// DefaultConfig returns the defaults: every enricher off, every other
// setting as documented on its field.
func DefaultConfig() Config {
	return Config{
		ClamAV: ClamAVConfig{
			Address:   "unix:/run/clamav/clamd.ctl",
			Timeout:   30 * time.Second,
			MaxBytes:  25 << 20,
			CacheSize: 10000,
			CacheTTL:  time.Hour,
		},
		VirusTotal: VirusTotalConfig{
			BaseURL:           "https://www.virustotal.com/api/v3",
			RequestsPerMinute: 4,
			Timeout:           30 * time.Second,
			CacheSize:         10000,
			CacheTTL:          24 * time.Hour,
			Files:             true,
			IPs:               true,
		},
	}
}

// Validate checks every setting, enabled or not, and that an enabled
// enricher has what it needs. It reports all problems at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("enrich: %s: "+format, append([]any{key}, args...)...))
	}

	a := c.ClamAV
	if a.Address != "" || a.Enabled {
		if _, _, err := parseAddress(a.Address); err != nil {
			errs = append(errs, fmt.Errorf("enrich: clamav.address: %w", err))
		}
	}
	if a.Timeout <= 0 {
		bad("clamav.timeout", "must be positive, not %s", a.Timeout)
	}
	if a.MaxBytes <= 0 {
		bad("clamav.max_bytes", "must be positive, not %d", a.MaxBytes)
	}
	if a.CacheSize < 0 {
		bad("clamav.cache_size", "must not be negative, not %d", a.CacheSize)
	}
	if a.CacheTTL < 0 {
		bad("clamav.cache_ttl", "must not be negative, not %s", a.CacheTTL)
	}

	v := c.VirusTotal
	if u, err := url.Parse(v.BaseURL); err != nil {
		bad("virustotal.base_url", "%w", err)
	} else if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("virustotal.base_url", "%q is not an http(s) URL", v.BaseURL)
	}
	if v.RequestsPerMinute <= 0 {
		bad("virustotal.requests_per_minute", "must be positive, not %d", v.RequestsPerMinute)
	}
	if v.Timeout <= 0 {
		bad("virustotal.timeout", "must be positive, not %s", v.Timeout)
	}
	if v.CacheSize < 0 {
		bad("virustotal.cache_size", "must not be negative, not %d", v.CacheSize)
	}
	if v.CacheTTL < 0 {
		bad("virustotal.cache_ttl", "must not be negative, not %s", v.CacheTTL)
	}
	if v.APIKey != "" && v.APIKeyFile != "" {
		bad("virustotal.api_key", "set api_key or api_key_file, not both")
	}
	if v.Enabled {
		if v.APIKey == "" && v.APIKeyFile == "" && os.Getenv(APIKeyEnv) == "" {
			bad("virustotal.api_key", "enabled without api_key, api_key_file or $%s", APIKeyEnv)
		}
		if !v.Files && !v.IPs {
			bad("virustotal", "enabled with neither files nor ips")
		}
	}
	return errors.Join(errs...)
}

// parseAddress splits "unix:<path>" or "tcp:<host>:<port>" into a network
// and an address for net.Dial.
func parseAddress(s string) (network, addr string, err error) {
	network, addr, ok := strings.Cut(s, ":")
	if !ok || addr == "" {
		return "", "", fmt.Errorf("%q is not unix:<path> or tcp:<host>:<port>", s)
	}
	switch network {
	case "unix":
		return network, addr, nil
	case "tcp":
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return "", "", fmt.Errorf("%q: %w", s, err)
		}
		return network, addr, nil
	}
	return "", "", fmt.Errorf("%q: network %q is not unix or tcp", s, network)
}

// apiKey resolves the VirusTotal key: APIKey, else APIKeyFile, else the
// environment.
func (v VirusTotalConfig) apiKey() (string, error) {
	key := v.APIKey
	if key == "" && v.APIKeyFile != "" {
		b, err := os.ReadFile(v.APIKeyFile)
		if err != nil {
			return "", fmt.Errorf("enrich: virustotal: read api key: %w", err)
		}
		key = strings.TrimSpace(string(b))
		if key == "" {
			return "", fmt.Errorf("enrich: virustotal: api key file %s is empty", v.APIKeyFile)
		}
	}
	if key == "" {
		key = strings.TrimSpace(os.Getenv(APIKeyEnv))
	}
	if key == "" {
		return "", fmt.Errorf("enrich: virustotal: no api key (api_key, api_key_file or $%s)", APIKeyEnv)
	}
	return key, nil
}

// New validates c and builds a Stage for each enabled enricher: file
// stages (ClamAV, then VirusTotal) and IP stages (VirusTotal). The
// VirusTotal stages share one client and so one rate limit.
func New(c Config) (files []*Stage, ips []*Stage, err error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	if a := c.ClamAV; a.Enabled {
		cl, err := NewClamAV(a)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, newStage(cl.Name(), a.Timeout, a.CacheSize, a.CacheTTL, cl, nil))
	}
	if v := c.VirusTotal; v.Enabled {
		vt, err := NewVirusTotal(v)
		if err != nil {
			return nil, nil, err
		}
		if v.Files {
			files = append(files, newStage(vt.Name(), v.Timeout, v.CacheSize, v.CacheTTL, vt, nil))
		}
		if v.IPs {
			ips = append(ips, newStage(vt.Name(), v.Timeout, v.CacheSize, v.CacheTTL, nil, vt))
		}
	}
	return files, ips, nil
}
