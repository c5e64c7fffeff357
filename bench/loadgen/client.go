package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// target is where the requests go, and the part of every request head
// that does not change: the request line, Host and the -header fields.
type target struct {
	addr string
	head []byte
}

// newTarget checks that raw is an http URL and prepares the request head.
func newTarget(raw string, header http.Header) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, fmt.Errorf("url: %w", err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return target{}, fmt.Errorf("url %q: only http://HOST[:PORT]/PATH is supported", raw)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), u.Host)
	if err := header.Write(&b); err != nil {
		return target{}, fmt.Errorf("header: %w", err)
	}
	return target{addr: addr, head: b.Bytes()}, nil
}

// client is one worker's HTTP/1.1 connection, kept alive between
// requests. It is the lean part of an HTTP client that a load generator
// needs, so that the generator's own work per request stays small beside
// the server's: one writev of the head and the mail, then the response
// read off a buffer and its body discarded. A connection the server
// closes (Connection: close, or a failure) is dialled again for the next
// request; a failed request is not retried.
type client struct {
	t       target
	timeout time.Duration
	dials   *atomic.Int64
	conn    net.Conn
	br      *bufio.Reader
	head    []byte
}

func newClient(t target, timeout time.Duration, dials *atomic.Int64) *client {
	return &client{t: t, timeout: timeout, dials: dials}
}

// post sends one mail and returns the response's status code once its
// body has been read.
func (c *client) post(mail []byte) (int, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.t.addr, 10*time.Second)
		if err != nil {
			return 0, fmt.Errorf("dial: %w", err)
		}
		c.dials.Add(1)
		c.conn = conn
		if c.br == nil {
			c.br = bufio.NewReaderSize(conn, 16<<10)
		} else {
			c.br.Reset(conn)
		}
	}
	status, keep, err := c.exchange(mail)
	if err != nil || !keep {
		c.close()
	}
	return status, err
}

// close closes the connection, if one is open.
func (c *client) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

// exchange writes the request and reads the response on the open
// connection; keep says whether the connection may carry another.
func (c *client) exchange(mail []byte) (status int, keep bool, err error) {
	if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, false, fmt.Errorf("deadline: %w", err)
	}
	c.head = append(append(c.head[:0], c.t.head...), "Content-Length: "...)
	c.head = append(strconv.AppendInt(c.head, int64(len(mail)), 10), "\r\n\r\n"...)
	bufs := net.Buffers{c.head, mail}
	if _, err := bufs.WriteTo(c.conn); err != nil {
		return 0, false, fmt.Errorf("write request: %w", err)
	}
	return readResponse(c.br)
}

// readResponse reads one HTTP/1.1 response and discards its body. An
// interim response (100 Continue, 103 Early Hints) is skipped.
func readResponse(br *bufio.Reader) (status int, keep bool, err error) {
	for {
		status, keep, err = readOne(br)
		if err != nil || status/100 != 1 {
			return status, keep, err
		}
		if status == http.StatusSwitchingProtocols {
			return status, false, errors.New("read response: the server switched protocols")
		}
	}
}

// readOne reads one response, final or interim.
func readOne(br *bufio.Reader) (status int, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, fmt.Errorf("read response: %w", err)
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, fmt.Errorf("read response: bad status line %q", bytes.TrimSpace(line))
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("read response: bad status line %q", bytes.TrimSpace(line))
	}
	keep = line[7] == '1' // HTTP/1.0 closes unless it says otherwise
	length, chunked := int64(-1), false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return status, false, fmt.Errorf("read response header: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return status, false, fmt.Errorf("read response header: bad line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return status, false, fmt.Errorf("read response header: bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			switch {
			case bytes.EqualFold(value, []byte("close")):
				keep = false
			case bytes.EqualFold(value, []byte("keep-alive")):
				keep = true
			}
		}
	}
	switch {
	case status/100 == 1 || status == http.StatusNoContent || status == http.StatusNotModified:
		// no body
	case chunked:
		err = discardChunked(br)
	case length >= 0:
		_, err = br.Discard(int(length))
	default: // the body runs to the end of the connection
		_, err = io.Copy(io.Discard, br)
		keep = false
	}
	if err != nil {
		return status, false, fmt.Errorf("read response body: %w", err)
	}
	return status, keep, nil
}

// discardChunked reads a chunked body and its trailer.
func discardChunked(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bad chunk size %q", size)
		}
		if n == 0 {
			break
		}
		if _, err := br.Discard(int(n)); err != nil {
			return err
		}
		if crlf, err := br.ReadSlice('\n'); err != nil || len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return errors.Join(errors.New("chunk not followed by CRLF"), err)
		}
	}
	for { // the trailer, up to an empty line
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return nil
		}
	}
}
