package mailq

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a NATS server running in this process, with JetStream on
// file storage.
type Server struct {
	ns  *server.Server
	url string
}

// StartEmbedded starts the server of e and waits until it takes
// connections. With e.Listen empty it takes no network connections:
// only this process reaches it, through InProcess.
func StartEmbedded(e Embedded, log *slog.Logger) (*Server, error) {
	if e.Dir == "" {
		return nil, errors.New("mailq: embedded server: no storage directory")
	}
	if err := os.MkdirAll(e.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("mailq: embedded server: %w", err)
	}
	opts := &server.Options{
		ServerName: "mailsift",
		JetStream:  true,
		StoreDir:   e.Dir,
		MaxPayload: int32(min(e.MaxPayload, 64<<20)),
		NoSigs:     true,
		NoLog:      log == nil,
	}
	if e.Listen == "" {
		opts.DontListen = true
	} else {
		host, port, err := net.SplitHostPort(e.Listen)
		if err != nil {
			return nil, fmt.Errorf("mailq: embedded server: listen %q: %w", e.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("mailq: embedded server: listen %q: bad port", e.Listen)
		}
		opts.Host, opts.Port = host, p
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("mailq: embedded server: %w", err)
	}
	if log != nil {
		ns.SetLoggerV2(serverLog{log}, false, false, false)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("mailq: embedded server: not ready (is %s in use?)", e.Listen)
	}
	url := "nats://in-process"
	if !opts.DontListen {
		url = ns.ClientURL()
	}
	return &Server{ns: ns, url: url}, nil
}

// URL is where clients connect ("nats://in-process" when it does not
// listen: connect with InProcess then).
func (s *Server) URL() string { return s.url }

// InProcess is the connection provider for Options.InProcess.
func (s *Server) InProcess() *server.Server { return s.ns }

// Shutdown stops the server after its streams are flushed to disk.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// serverLog passes the server's log lines to slog.
type serverLog struct{ l *slog.Logger }

func (s serverLog) Noticef(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLog) Warnf(format string, v ...any)   { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s serverLog) Fatalf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLog) Errorf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLog) Debugf(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLog) Tracef(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
