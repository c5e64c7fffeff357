package dedup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func testConfig(dir string) Config {
	c := DefaultConfig()
	c.Dir = dir
	c.Mails.Capacity, c.Attachments.Capacity, c.IPs.Capacity = 10, 10, 10
	return c
}

func TestFiltersRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "seen")
	f, err := Open(testConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		kind Kind
		key  string
		want bool
	}{
		{Mail, "AB12", false},
		{Mail, "ab12", true}, // hashes compare without case
		{Attachment, "ab12", false},
		{IP, "192.0.2.1", false},
		{IP, "::ffff:192.0.2.1", true}, // the same address, mapped
		{IP, "2001:DB8::1", false},
		{IP, "2001:db8:0::1", true},
		{IP, "not an ip", false},
		{IP, "not an ip", true},
		{IP, "", false}, // no sender IP is never "seen"
		{IP, "", false},
	}
	for _, s := range steps {
		got, err := f.SeenOrAdd(ctx, s.kind, s.key)
		if err != nil || got != s.want {
			t.Errorf("SeenOrAdd(%v, %q) = %v, %v; want %v", s.kind, s.key, got, err, s.want)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []Kind{Mail, Attachment, IP} {
		if _, err := os.Stat(filepath.Join(dir, k.String()+".seen")); err != nil {
			t.Errorf("%v not saved: %v", k, err)
		}
	}

	g, err := Open(testConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		kind Kind
		key  string
	}{{Mail, "ab12"}, {Attachment, "AB12"}, {IP, "192.0.2.1"}, {IP, "2001:db8::1"}} {
		if seen, _ := g.SeenOrAdd(ctx, s.kind, s.key); !seen {
			t.Errorf("%v %q forgotten across Close and Open", s.kind, s.key)
		}
	}
	if _, err := g.SeenOrAdd(ctx, Kind(9), "x"); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestFiltersDisabledAndNil(t *testing.T) {
	ctx := context.Background()
	c := testConfig("")
	c.Attachments.Enabled = false
	f, err := Open(c)
	if err != nil {
		t.Fatal(err)
	}
	if f.Attachments != nil || f.Filter(Attachment) != nil || f.Path(Mail) != "" {
		t.Error("disabled filter or unpersisted path present")
	}
	for range 2 {
		if seen, err := f.SeenOrAdd(ctx, Attachment, "ab"); seen || err != nil {
			t.Errorf("disabled filter: %v, %v", seen, err)
		}
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close without a directory: %v", err)
	}
	var none *Filters
	for range 2 {
		if seen, err := none.SeenOrAdd(ctx, Mail, "ab"); seen || err != nil {
			t.Errorf("nil Filters: %v, %v", seen, err)
		}
	}
	if none.Save() != nil || none.Filter(Mail) != nil || none.Path(Mail) != "" {
		t.Error("nil Filters misbehaves")
	}
}

func TestOpenCorruptFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "attachments.seen"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(testConfig(dir))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "attachments.seen") {
		t.Fatalf("err = %v, want ErrCorrupt naming the file", err)
	}
	if f == nil || f.Attachments == nil || f.Attachments.Len() != 0 || f.Mails == nil {
		t.Fatal("Open did not return usable filters with the corrupt one empty")
	}
	if seen, _ := f.SeenOrAdd(context.Background(), Attachment, "ab"); seen {
		t.Error("fresh filter says seen")
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(testConfig(dir)); err != nil {
		t.Errorf("after saving over the corrupt file: %v", err)
	}
}

func TestOpenUnreadableDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "mails.seen"), 0o700); err != nil {
		t.Fatal(err)
	}
	if f, err := Open(testConfig(dir)); err == nil || errors.Is(err, ErrCorrupt) || f != nil {
		t.Errorf("Open = %v, %v; want nil and a read error", f, err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	c := DefaultConfig()
	c.Mails.Capacity = 0
	c.IPs.Policy = "random"
	c.Attachments.Capacity = MaxCapacity + 1
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"mails.capacity", "ips.policy", "attachments.capacity", "dedup: invalid configuration"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := Open(c); err == nil {
		t.Error("Open accepted an invalid config")
	}
}

func TestConfigYAML(t *testing.T) {
	src := "mails:\n  enabled: true\n  capacity: 5\n  policy: fifo\nips:\n  enabled: false\ndir: ~/seen\n"
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.Mails.Capacity != 5 || c.Mails.Policy != "fifo" || c.IPs.Enabled || !c.Attachments.Enabled || c.Dir != "~/seen" {
		t.Errorf("decoded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	home, err := os.UserHomeDir()
	if err == nil && expandHome("~/seen") != filepath.Join(home, "seen") {
		t.Errorf("expandHome(~/seen) = %q", expandHome("~/seen"))
	}
	if expandHome("/abs") != "/abs" || expandHome("") != "" {
		t.Error("expandHome changed a path without ~/")
	}
}

func TestKindNames(t *testing.T) {
	if Mail.String() != "mails" || Attachment.String() != "attachments" || IP.String() != "ips" || Kind(-1).String() != "Kind(-1)" {
		t.Error("kind names")
	}
}

func TestConfigYAMLKeepsDefaults(t *testing.T) {
	c := DefaultConfig()
	if err := yaml.Unmarshal([]byte("mails:\n  capacity: 5\n"), &c); err != nil {
		t.Fatal(err)
	}
	if !c.Mails.Enabled || c.Mails.Policy != "lru" || c.Mails.Capacity != 5 {
		t.Errorf("a partial section lost its defaults: %+v", c.Mails)
	}
}
