package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		status   int
		keep     bool
		rest     string // what follows the response
		bad      bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" + "NEXT", 200, true, "NEXT", false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\nTrailer: t\r\n\r\nNEXT", 200, true, "NEXT", false},
		{"close", "HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", 503, false, "", false},
		{"1.0", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 200, false, "", false},
		{"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 200, true, "", false},
		{"to EOF", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, false, "", false},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\nNEXT", 204, true, "NEXT", false},
		{"continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxNEXT", 200, true, "NEXT", false},
		{"switching", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", 101, false, "", true},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", 0, false, "", true},
		{"not http", "SSH-2.0-OpenSSH\r\n", 0, false, "", true},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 200, false, "", true},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", 200, false, "", true},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 200, false, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tc.in))
			status, keep, err := readResponse(br)
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v, want error %v", err, tc.bad)
			}
			if status != tc.status || (!tc.bad && keep != tc.keep) {
				t.Errorf("status %d keep %v, want %d %v", status, keep, tc.status, tc.keep)
			}
			if tc.bad {
				return
			}
			if rest, _ := io.ReadAll(br); string(rest) != tc.rest {
				t.Errorf("left %q, want %q", rest, tc.rest)
			}
		})
	}
}

// TestClientFollowsTheServer: a chunked answer keeps the connection, a
// "Connection: close" answer (rspamd's way) ends it and the next request
// dials again.
func TestClientFollowsTheServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) == "close" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "part one ")
		w.(http.Flusher).Flush() // no Content-Length: chunked
		io.WriteString(w, "part two")
	}))
	defer srv.Close()
	cfg := config{url: srv.URL + "/v1/classify?x=1", concurrency: 1, n: 6, header: http.Header{}, timeout: time.Minute}
	mails := [][]byte{[]byte("keep"), []byte("keep"), []byte("close")}
	res, err := measure(context.Background(), cfg, mails, time.Now, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 6 || res.Errors != 0 {
		t.Fatalf("%d requests, %d errors (%s)", res.Requests, res.Errors, res.FirstError)
	}
	if res.Connections != 2 {
		t.Errorf("%d connections, want 2 (one per close)", res.Connections)
	}
}

func TestTargetNeedsHTTP(t *testing.T) {
	for _, u := range []string{"https://127.0.0.1/", "127.0.0.1:80", "http:///path", "ftp://h/"} {
		if _, err := newTarget(u, http.Header{}); err == nil {
			t.Errorf("%q: no error", u)
		}
	}
	tg, err := newTarget("http://example.org/v1/analyze?origin=x", http.Header{"Content-Type": {"message/rfc822"}})
	if err != nil {
		t.Fatal(err)
	}
	if tg.addr != "example.org:80" || string(tg.head) != "POST /v1/analyze?origin=x HTTP/1.1\r\nHost: example.org\r\nContent-Type: message/rfc822\r\n" {
		t.Errorf("addr %q head %q", tg.addr, tg.head)
	}
}
