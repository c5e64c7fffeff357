package redis

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// server is a redis-server of the test's own, on a port of its own, with
// its files in a temporary directory. It can be stopped and started again
// on the same port.
type server struct {
	t      *testing.T
	bin    string
	port   int
	dir    string
	extra  []string
	cmd    *exec.Cmd
	exited chan struct{}
}

// newServer prepares a server without starting it; extra are more
// redis-server arguments. It skips the test when redis-server is missing.
func newServer(t *testing.T, extra ...string) *server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed: apt-get install redis-server (make test installs it)")
	}
	s := &server{t: t, bin: bin, port: freePort(t), dir: t.TempDir(), extra: extra}
	t.Cleanup(s.stop)
	return s
}

// startServer returns a running server.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	s := newServer(t, extra...)
	s.start()
	return s
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

func (s *server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// url is the spec of the server with query (without "?") as options.
func (s *server) url(query string) string {
	u := "redis://" + s.addr()
	if query != "" {
		u += "?" + query
	}
	return u
}

// start runs redis-server and waits until it answers PING.
func (s *server) start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("redis-server already running")
	}
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log"), "--daemonize", "no",
	}, s.extra...)
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait() // killed on purpose: the exit status says nothing
		close(done)
	}(s.exited)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if s.ping() {
			return
		}
		select {
		case <-s.exited:
			s.t.Fatalf("redis-server exited at start:\n%s", s.log())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server does not answer on %s:\n%s", s.addr(), s.log())
		}
	}
}

// ping reports whether the server answers PING, with PONG or with an
// error other than LOADING (NOAUTH when it wants a password).
func (s *server) ping() bool {
	c, err := net.DialTimeout("tcp", s.addr(), time.Second)
	if err != nil {
		return false
	}
	defer func() { _ = c.Close() }() // a probe: nothing to lose
	if err := c.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return false
	}
	if _, err := fmt.Fprint(c, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && (line == "+PONG\r\n" || strings.HasPrefix(line, "-") && !strings.HasPrefix(line, "-LOADING"))
}

// stop kills the server, as a crash would, and waits for it to exit. It
// does nothing when the server is not running.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Kill(); err != nil {
		s.t.Errorf("kill redis-server: %v", err)
	}
	<-s.exited
	s.cmd = nil
}

func (s *server) log() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// client returns a client for reading back what the sink stored.
func (s *server) client() *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: s.addr()})
	s.t.Cleanup(func() {
		if err := c.Close(); err != nil {
			s.t.Errorf("close client: %v", err)
		}
	})
	return c
}

// lrange returns the list key.
func lrange(t *testing.T, c *goredis.Client, key string) []string {
	t.Helper()
	vs, err := c.LRange(context.Background(), key, 0, -1).Result()
	if err != nil {
		t.Fatalf("LRANGE %s: %v", key, err)
	}
	return vs
}

// xrange returns the stream key.
func xrange(t *testing.T, c *goredis.Client, key string) []goredis.XMessage {
	t.Helper()
	ms, err := c.XRange(context.Background(), key, "-", "+").Result()
	if err != nil {
		t.Fatalf("XRANGE %s: %v", key, err)
	}
	return ms
}
