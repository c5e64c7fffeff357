package enrich

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDefaultConfigValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.ClamAV.Enabled || c.VirusTotal.Enabled {
		t.Errorf("an enricher is on by default")
	}
	files, ips, err := New(c)
	if err != nil || len(files) != 0 || len(ips) != 0 {
		t.Errorf("New(defaults) = %d files, %d ips, %v; want none", len(files), len(ips), err)
	}
}

func TestConfigYAML(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "vt.key")
	writeFile(t, keyFile, "secret\n")
	src := `
clamav:
  enabled: true
  address: tcp:127.0.0.1:3310
  timeout: 10s
  max_bytes: 1048576
virustotal:
  enabled: true
  api_key_file: ` + keyFile + `
  requests_per_minute: 500
  cache_ttl: 1h
  ips: false
`
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.ClamAV.Timeout != 10*time.Second || c.ClamAV.MaxBytes != 1<<20 || c.ClamAV.CacheSize != 10000 ||
		c.VirusTotal.RequestsPerMinute != 500 || c.VirusTotal.CacheTTL != time.Hour || !c.VirusTotal.Files || c.VirusTotal.IPs {
		t.Errorf("decoded %+v", c)
	}
	files, ips, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range files {
		names = append(names, s.Name())
	}
	if strings.Join(names, ",") != "clamav,virustotal" || len(ips) != 0 {
		t.Errorf("New: files %v, %d ips", names, len(ips))
	}
	if files[1].cache.ttl != time.Hour {
		t.Errorf("virustotal cache ttl = %s", files[1].cache.ttl)
	}

	dec = yaml.NewDecoder(strings.NewReader("clamav:\n  adress: unix:/x\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil {
		t.Errorf("unknown key accepted")
	}
}

func TestNewSharesOneRateLimit(t *testing.T) {
	c := DefaultConfig()
	c.VirusTotal.Enabled = true
	c.VirusTotal.APIKey = "k"
	files, ips, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || len(ips) != 1 {
		t.Fatalf("New: %d files, %d ips; want 1, 1", len(files), len(ips))
	}
	if files[0].file.(*VirusTotal) != ips[0].ip.(*VirusTotal) {
		t.Errorf("file and IP stages have separate clients (and rate limits)")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Setenv(APIKeyEnv, "")
	tests := []struct {
		name  string
		edit  func(*Config)
		wants []string
	}{
		{"clamav address", func(c *Config) { c.ClamAV.Enabled = true; c.ClamAV.Address = "/run/clamd.ctl" }, []string{"clamav.address"}},
		{"clamav enabled without address", func(c *Config) { c.ClamAV.Enabled = true; c.ClamAV.Address = "" }, []string{"clamav.address"}},
		{"clamav numbers", func(c *Config) {
			c.ClamAV.Timeout, c.ClamAV.MaxBytes, c.ClamAV.CacheSize, c.ClamAV.CacheTTL = 0, 0, -1, -time.Second
		}, []string{"clamav.timeout", "clamav.max_bytes", "clamav.cache_size", "clamav.cache_ttl"}},
		{"vt numbers", func(c *Config) {
			c.VirusTotal.RequestsPerMinute, c.VirusTotal.Timeout, c.VirusTotal.CacheSize = 0, -1, -1
		}, []string{"virustotal.requests_per_minute", "virustotal.timeout", "virustotal.cache_size"}},
		{"vt base url", func(c *Config) { c.VirusTotal.BaseURL = "www.virustotal.com" }, []string{"virustotal.base_url"}},
		{"vt no key", func(c *Config) { c.VirusTotal.Enabled = true }, []string{"virustotal.api_key"}},
		{"vt two keys", func(c *Config) { c.VirusTotal.APIKey, c.VirusTotal.APIKeyFile = "k", "/k" }, []string{"virustotal.api_key"}},
		{"vt nothing to do", func(c *Config) {
			c.VirusTotal.Enabled, c.VirusTotal.APIKey, c.VirusTotal.Files, c.VirusTotal.IPs = true, "k", false, false
		}, []string{"neither files nor ips"}},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.edit(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		for _, w := range tt.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %s", tt.name, err, w)
			}
		}
		if _, _, err := New(c); err == nil {
			t.Errorf("%s: New accepted an invalid config", tt.name)
		}
	}

	c := DefaultConfig()
	c.VirusTotal.Enabled = true
	t.Setenv(APIKeyEnv, "from-env")
	if err := c.Validate(); err != nil {
		t.Errorf("key from the environment: %v", err)
	}
}

func TestConfigEncodesDurations(t *testing.T) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "timeout: 30s") {
		t.Errorf("durations do not encode as text:\n%s", buf.String())
	}
}
