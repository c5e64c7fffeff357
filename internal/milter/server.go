package milter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	gomilter "github.com/d--j/go-milter"
	"github.com/d--j/go-milter/mailfilter"
)

// ErrServerClosed is returned by Serve when it is called after Shutdown or
// Close.
var ErrServerClosed = errors.New("milter: server closed")

// Options are the server's ties to the rest of the program; both may be
// nil.
type Options struct {
	// Logger gets a warning for every message passed on unknown because
	// of an error, and a debug line for every message.
	Logger *slog.Logger
	// Observe is called once per message, after the decision, from the
	// goroutine that handles the message: keep it quick (a metrics
	// update). A panic in it is recovered and logged.
	Observe func(Outcome)
}

// Server is the milter. It is safe for concurrent use.
type Server struct {
	scanner Scanner
	log     *slog.Logger
	observe func(Outcome)
	cfg     atomic.Pointer[Config]

	mu        sync.Mutex
	closed    bool
	filter    *mailfilter.MailFilter // started by the first Serve
	socket    string                 // the filter's private socket
	sockDir   string
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	bridges   sync.WaitGroup
}

// New returns a server that acts on s's verdicts with cfg, which should
// have passed Validate (unusable values fall back to the defaults).
func New(cfg Config, s Scanner, opts Options) *Server {
	srv := &Server{
		scanner:   s,
		log:       opts.Logger,
		observe:   opts.Observe,
		listeners: map[net.Listener]struct{}{},
		conns:     map[net.Conn]struct{}{},
	}
	if srv.log == nil {
		srv.log = slog.New(slog.DiscardHandler)
	}
	srv.SetConfig(cfg)
	return srv
}

// SetConfig puts cfg in force, atomically, for every message whose end of
// data arrives after the call; messages being scanned keep the one they
// started with. listen and max_bytes are read by Serve only.
func (s *Server) SetConfig(cfg Config) {
	c := cfg.withDefaults()
	s.cfg.Store(&c)
}

// Config returns the configuration in force, defaults filled in.
func (s *Server) Config() Config { return *s.cfg.Load() }

// Serve handles the MTA connections that ln accepts, until Shutdown or
// Close; it then waits for the connections to end and returns nil. ln is
// closed on return.
//
// mailfilter (the high-level API of github.com/d--j/go-milter) binds its
// own socket and takes no listener, so the first Serve starts it on a
// Unix socket in a private directory (mode 0700, removed by Shutdown and
// Close) and every connection from ln is relayed to it byte for byte.
func (s *Server) Serve(ln net.Listener) error {
	socket, err := s.start()
	if err != nil {
		_ = ln.Close()
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		_ = ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				s.bridges.Wait()
				return nil
			}
			return fmt.Errorf("milter: accept: %w", err)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = conn.Close()
			continue
		}
		s.conns[conn] = struct{}{}
		s.bridges.Add(1)
		s.mu.Unlock()
		go s.bridge(conn, socket)
	}
}

// start starts the mail filter once, on its private socket.
func (s *Server) start() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", ErrServerClosed
	}
	if s.filter != nil {
		return s.socket, nil
	}
	dir, err := os.MkdirTemp("", "mailsift-milter-")
	if err != nil {
		return "", fmt.Errorf("milter: socket directory: %w", err)
	}
	socket := filepath.Join(dir, "s")
	cfg := s.cfg.Load()
	f, err := mailfilter.New("unix", socket, s.decide,
		mailfilter.WithDecisionAt(mailfilter.DecisionAtEndOfMessage),
		// decide never returns an error; this covers a broken connection
		// while the changes are sent.
		mailfilter.WithErrorHandling(mailfilter.AcceptWhenError),
		// One byte more than max_bytes tells that the body was cut.
		mailfilter.WithBody(bodyInMemory, cfg.MaxBytes+1, mailfilter.TruncateWhenTooBig),
		mailfilter.WithHeader(maxHeaders, mailfilter.TruncateWhenTooBig),
	)
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("milter: start: %w", err)
	}
	s.filter, s.socket, s.sockDir = f, socket, dir
	return socket, nil
}

const (
	// bodyInMemory is how much of a body mailfilter keeps in memory while
	// it arrives; beyond it the body goes to a temporary file until the
	// end of data.
	bodyInMemory = 256 << 10
	// maxHeaders is how many header fields are read; the rest pass
	// through unscanned, and a forged spam header among them would stay.
	// It is above what an MTA lets through: Postfix's header_size_limit
	// (100 KiB) holds some 30000 of the shortest fields.
	maxHeaders = 1 << 16
	// dialTimeout bounds the connection to the private socket.
	dialTimeout = 5 * time.Second
)

// bridge relays one MTA connection to the mail filter until either side
// closes.
func (s *Server) bridge(conn net.Conn, socket string) {
	defer s.bridges.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		_ = conn.Close()
	}()
	inner, err := net.DialTimeout("unix", socket, dialTimeout)
	if err != nil {
		s.log.Warn("milter: connection dropped: the mail filter does not answer", "remote", conn.RemoteAddr().String(), "error", err)
		return
	}
	s.mu.Lock()
	s.conns[inner] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, inner)
		s.mu.Unlock()
	}()
	closeBoth := func() { _ = conn.Close(); _ = inner.Close() }
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(inner, conn)
		closeBoth()
	}()
	_, _ = io.Copy(conn, inner)
	closeBoth()
	<-done
}

// Shutdown stops accepting connections and waits, until ctx is done, for
// the MTA to close the ones it has: messages in flight are finished. Then
// it closes what is left (the MTA applies its milter_default_action to a
// message cut off that way) and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	f := s.stop()
	var err error
	if f != nil {
		err = f.Shutdown(ctx)
	}
	done := make(chan struct{})
	go func() { s.bridges.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.closeConns()
		<-done
		if err == nil {
			err = ctx.Err()
		}
	}
	return errors.Join(err, s.cleanup(f))
}

// Close stops the server at once, cutting off the connections.
func (s *Server) Close() error {
	f := s.stop()
	if f != nil {
		f.Close()
	}
	s.closeConns()
	s.bridges.Wait()
	return s.cleanup(f)
}

// stop marks the server closed and closes its listeners.
func (s *Server) stop() *mailfilter.MailFilter {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for ln := range s.listeners {
		_ = ln.Close()
	}
	return s.filter
}

func (s *Server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.Close()
	}
}

// cleanup waits for the mail filter to end and removes its socket.
func (s *Server) cleanup(f *mailfilter.MailFilter) error {
	if f == nil {
		return nil
	}
	f.Wait()
	s.mu.Lock()
	dir := s.sockDir
	s.sockDir = ""
	s.mu.Unlock()
	if dir == "" {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("milter: remove socket: %w", err)
	}
	return nil
}

// LogTo sends the milter library's own warnings (protocol oddities of the
// MTA) to l instead of standard error. It sets the library's one global
// logging hook.
func LogTo(l *slog.Logger) {
	gomilter.LogWarning = func(format string, v ...any) {
		l.Warn(fmt.Sprintf(format, v...), "component", "milter library")
	}
}
