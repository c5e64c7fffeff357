package enrich

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

var (
	// ErrTooLarge is returned for a file larger than the scanner accepts:
	// ClamAVConfig.MaxBytes, or clamd's StreamMaxLength.
	ErrTooLarge = errors.New("file too large")
	// ErrNoData is returned for a file whose content was not read.
	ErrNoData = errors.New("no file content")
	// ErrClamd is returned when clamd answers with an error, or with
	// something that is not an answer.
	ErrClamd = errors.New("clamd error")
)

// chunkSize is the length of each INSTREAM chunk.
const chunkSize = 64 << 10

// maxReply bounds what is read of one clamd answer.
const maxReply = 4 << 10

// aLongTimeAgo is a deadline in the past, to unblock a connection at once.
var aLongTimeAgo = time.Unix(1, 0)

// ClamAV is a clamd client, one connection per command. It is safe for
// concurrent use.
type ClamAV struct {
	network, addr string
	maxBytes      int64
	dialer        net.Dialer
}

var _ FileEnricher = (*ClamAV)(nil)

// NewClamAV returns a client for the clamd at c.Address that sends at most
// c.MaxBytes (no limit when zero or less) per file. It does not connect.
func NewClamAV(c ClamAVConfig) (*ClamAV, error) {
	network, addr, err := parseAddress(c.Address)
	if err != nil {
		return nil, fmt.Errorf("enrich: clamav: address: %w", err)
	}
	return &ClamAV{network: network, addr: addr, maxBytes: c.MaxBytes}, nil
}

// Name returns "clamav".
func (c *ClamAV) Name() string { return "clamav" }

// File scans f.Data and returns {"infected": bool, "signature": name}, the
// signature being present only when infected.
func (c *ClamAV) File(ctx context.Context, f File) (map[string]any, error) {
	if f.Data == nil {
		return nil, fmt.Errorf("enrich: clamav: scan %s: %w", f.Name, ErrNoData)
	}
	if c.maxBytes > 0 && int64(len(f.Data)) > c.maxBytes {
		return nil, fmt.Errorf("enrich: clamav: scan %s: %d bytes, max_bytes is %d: %w", f.Name, len(f.Data), c.maxBytes, ErrTooLarge)
	}
	sig, err := c.Scan(ctx, bytes.NewReader(f.Data))
	if err != nil {
		return nil, err
	}
	if sig == "" {
		return map[string]any{"infected": false}, nil
	}
	return map[string]any{"infected": true, "signature": sig}, nil
}

// Scan streams r to clamd and returns the name of the signature found, or
// "" when the content is clean. More than the client's MaxBytes is not
// sent: Scan stops with ErrTooLarge.
func (c *ClamAV) Scan(ctx context.Context, r io.Reader) (signature string, err error) {
	reply, err := c.command(ctx, "INSTREAM", func(w io.Writer) error {
		return c.stream(w, r)
	})
	if err != nil {
		return "", err
	}
	return parseScanReply(reply)
}

// parseScanReply reads clamd's answer to INSTREAM.
func parseScanReply(reply string) (signature string, err error) {
	rest, ok := strings.CutPrefix(reply, "stream: ")
	switch {
	case ok && rest == "OK":
		return "", nil
	case ok && strings.HasSuffix(rest, " FOUND") && len(rest) > len(" FOUND"):
		return strings.TrimSuffix(rest, " FOUND"), nil
	case strings.HasPrefix(reply, "INSTREAM size limit exceeded"):
		return "", fmt.Errorf("enrich: clamav: scan: %s: %w", reply, ErrTooLarge)
	}
	return "", fmt.Errorf("enrich: clamav: scan: %w: %q", ErrClamd, reply)
}

// stream writes r as INSTREAM chunks and the terminating zero length.
func (c *ClamAV) stream(w io.Writer, r io.Reader) error {
	buf := make([]byte, 4+chunkSize)
	var sent int64
	for {
		n, err := io.ReadFull(r, buf[4:])
		if n > 0 {
			sent += int64(n)
			if c.maxBytes > 0 && sent > c.maxBytes {
				return fmt.Errorf("more than max_bytes %d: %w", c.maxBytes, ErrTooLarge)
			}
			binary.BigEndian.PutUint32(buf, uint32(n))
			if _, werr := w.Write(buf[:4+n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read content: %w", err)
		}
	}
	_, err := w.Write([]byte{0, 0, 0, 0})
	return err
}

// Ping checks that clamd answers "PONG".
func (c *ClamAV) Ping(ctx context.Context) error {
	reply, err := c.command(ctx, "PING", nil)
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("enrich: clamav: ping: %w: %q", ErrClamd, reply)
	}
	return nil
}

// Version returns clamd's version line, such as
// "ClamAV 1.4.6/27500/Mon Jan 1 09:00:00 2026".
func (c *ClamAV) Version(ctx context.Context) (string, error) {
	reply, err := c.command(ctx, "VERSION", nil)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(reply, "ClamAV ") {
		return "", fmt.Errorf("enrich: clamav: version: %w: %q", ErrClamd, reply)
	}
	return reply, nil
}

// command sends "z<name>\0", then what body writes, and reads the
// NUL-terminated answer. ctx's deadline and cancellation apply to the
// connection.
func (c *ClamAV) command(ctx context.Context, name string, body func(io.Writer) error) (reply string, err error) {
	op := strings.ToLower(name)
	conn, err := c.dialer.DialContext(ctx, c.network, c.addr)
	if err != nil {
		return "", fmt.Errorf("enrich: clamav: dial %s:%s: %w", c.network, c.addr, err)
	}
	defer func() {
		if cerr := conn.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("enrich: clamav: %s: close: %w", op, cerr)
		}
	}()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return "", fmt.Errorf("enrich: clamav: %s: set deadline: %w", op, err)
		}
	}
	stop := context.AfterFunc(ctx, func() {
		// Unblock reads and writes; the error is the connection's.
		_ = conn.SetDeadline(aLongTimeAgo)
	})
	defer stop()
	// ctxErr prefers the context's reason over the i/o error it caused.
	ctxErr := func(err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("%w (%w)", cerr, err)
		}
		if dl, ok := ctx.Deadline(); ok && isTimeout(err) && !time.Now().Before(dl) {
			return fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
		}
		return err
	}

	if _, err := conn.Write([]byte("z" + name + "\x00")); err != nil {
		return "", fmt.Errorf("enrich: clamav: %s: write: %w", op, ctxErr(err))
	}
	var werr error
	if body != nil {
		werr = body(conn)
		if errors.Is(werr, ErrTooLarge) {
			return "", fmt.Errorf("enrich: clamav: %s: %w", op, werr)
		}
	}
	// clamd may answer (and close) before the stream ends, for example
	// when the size limit is exceeded: its answer explains the failed write.
	reply, rerr := readReply(conn)
	if rerr != nil {
		if werr != nil {
			return "", fmt.Errorf("enrich: clamav: %s: write: %w", op, ctxErr(werr))
		}
		return "", fmt.Errorf("enrich: clamav: %s: read answer: %w", op, ctxErr(rerr))
	}
	return reply, nil
}

// readReply reads one answer, up to NUL or the end of the connection.
func readReply(r io.Reader) (string, error) {
	var out []byte
	buf := make([]byte, 512)
	for len(out) < maxReply {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if i := bytes.IndexByte(out, 0); i >= 0 {
			return strings.TrimSpace(string(out[:i])), nil
		}
		if err == io.EOF {
			if len(out) == 0 {
				return "", io.ErrUnexpectedEOF
			}
			return strings.TrimSpace(string(out)), nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("answer longer than %d bytes: %w", maxReply, ErrClamd)
}
