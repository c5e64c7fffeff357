package server

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Config is the HTTP API's part of the configuration ("serve.http").
// Every key but listen and the TLS files' paths takes effect on reload;
// the files themselves are read again on reload.
type Config struct {
	// Address the HTTP API listens on, host:port; "" turns it off.
	Listen string `yaml:"listen"`
	// PEM certificate chain and private key; with both set the API speaks
	// HTTPS only. They are read again on every reload, so a renewed
	// certificate is picked up without a restart.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// Largest mail accepted in a request body, in bytes; larger gets 413.
	MaxBytes int64 `yaml:"max_bytes"`
	// Most time to read a whole request, headers and body.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// Most time from the end of the request to the end of the response.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// How long an idle keep-alive connection stays open.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// Most time the analysis or classification of one mail may take;
	// past it the request gets 504.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// Mails analysed or classified at once; further requests wait for a
	// free slot until their deadline (then 503). 0 means four per CPU.
	MaxInFlight int `yaml:"max_in_flight"`
	// File whose first line is the bearer token that the training
	// endpoints (/v1/train/..., /v1/untrain) require. "" turns training
	// over HTTP off (403).
	TokenFile string `yaml:"token_file"`
}

// DefaultConfig returns the defaults: 127.0.0.1:8025, 25 MiB mails.
func DefaultConfig() Config {
	return Config{
		Listen:         "127.0.0.1:8025",
		MaxBytes:       25 << 20,
		ReadTimeout:    30 * time.Second,
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    120 * time.Second,
		RequestTimeout: 30 * time.Second,
	}
}

// Validate reports the first unusable value.
func (c Config) Validate() error {
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("listen %q: want host:port", c.Listen)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("tls_cert and tls_key go together")
	}
	switch {
	case c.MaxBytes <= 0:
		return errors.New("max_bytes must be positive")
	case c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.IdleTimeout <= 0 || c.RequestTimeout <= 0:
		return errors.New("read_timeout, write_timeout, idle_timeout and request_timeout must be positive")
	case c.MaxInFlight < 0:
		return errors.New("max_in_flight cannot be negative")
	}
	return nil
}
