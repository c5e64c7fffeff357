package enrich

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// eicar is the EICAR anti-virus test file.
const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// marker is the body the test database's .ndb signature looks for.
const marker = "MAILSIFT-ENRICH-TEST-MARKER"

// clamd is a clamd daemon the test started, with a database of its own.
type clamd struct {
	dir  string
	unix string // address for ClamAVConfig: "unix:..."
	tcp  string // "tcp:127.0.0.1:port"
	cmd  *exec.Cmd
	exit chan error
}

// startClamd starts Debian's clamd on a private socket, TCP port and
// signature database (no freshclam, no official signatures), and stops it
// when the test ends. It skips the test when clamd is not installed.
func startClamd(t *testing.T) *clamd {
	t.Helper()
	bin, err := exec.LookPath("clamd")
	if err != nil {
		bin = "/usr/sbin/clamd"
		if _, err := os.Stat(bin); err != nil {
			t.Skip("clamd not installed: apt-get install clamav-daemon")
		}
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum([]byte(eicar))
	writeFile(t, filepath.Join(db, "test.hdb"),
		fmt.Sprintf("%s:%d:Mailsift.Test.EICAR\n", hex.EncodeToString(sum[:]), len(eicar)))
	writeFile(t, filepath.Join(db, "test.ndb"),
		fmt.Sprintf("Mailsift.Test.Marker:0:*:%s\n", hex.EncodeToString([]byte(marker))))

	port := freePort(t)
	sock := filepath.Join(dir, "clamd.sock")
	writeFile(t, filepath.Join(dir, "clamd.conf"), strings.Join([]string{
		"Foreground yes",
		"LocalSocket " + sock,
		"TCPSocket " + fmt.Sprint(port),
		"TCPAddr 127.0.0.1",
		"DatabaseDirectory " + db,
		"LogFile " + filepath.Join(dir, "clamd.log"),
		"PidFile " + filepath.Join(dir, "clamd.pid"),
		"StreamMaxLength 1M",
		"SelfCheck 0",
		"",
	}, "\n"))

	c := &clamd{
		dir:  dir,
		unix: "unix:" + sock,
		tcp:  fmt.Sprintf("tcp:127.0.0.1:%d", port),
		cmd:  exec.Command(bin, "--config-file="+filepath.Join(dir, "clamd.conf")),
		exit: make(chan error, 1),
	}
	var out bytes.Buffer
	c.cmd.Stdout, c.cmd.Stderr = &out, &out
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start clamd: %v", err)
	}
	go func() { c.exit <- c.cmd.Wait() }()
	t.Cleanup(c.stop)

	// clamd with a two-signature database is up in well under a second.
	start := time.Now()
	client, err := NewClamAV(ClamAVConfig{Address: c.unix})
	if err != nil {
		t.Fatal(err)
	}
	for {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err := client.Ping(ctx)
		cancel()
		if err == nil {
			break
		}
		select {
		case err := <-c.exit:
			c.exit <- err
			t.Fatalf("clamd exited: %v\n%s", err, out.String())
		default:
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("clamd did not answer PING within 30s: %v\n%s", err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("clamd ready after %s", time.Since(start).Round(time.Millisecond))
	return c
}

// stop ends clamd and waits for it.
func (c *clamd) stop() {
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = c.cmd.Process.Kill()
	}
	select {
	case err := <-c.exit:
		c.exit <- err
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

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

func TestClamAVDaemon(t *testing.T) {
	d := startClamd(t)
	// The marker straddles the first 64 KiB chunk boundary.
	split := bytes.Repeat([]byte("a"), chunkSize-10)
	split = append(split, marker...)
	split = append(split, bytes.Repeat([]byte("b"), 1000)...)

	for _, addr := range []string{d.unix, d.tcp} {
		t.Run(strings.SplitN(addr, ":", 2)[0], func(t *testing.T) {
			c, err := NewClamAV(ClamAVConfig{Address: addr, MaxBytes: 4 << 20})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := c.Ping(ctx); err != nil {
				t.Errorf("Ping: %v", err)
			}
			if v, err := c.Version(ctx); err != nil || !strings.HasPrefix(v, "ClamAV ") {
				t.Errorf("Version = %q, %v", v, err)
			}
			tests := []struct {
				name string
				data []byte
				want map[string]any
			}{
				{"clean", []byte("Hello, this is an ordinary attachment.\n"), map[string]any{"infected": false}},
				{"empty", []byte{}, map[string]any{"infected": false}},
				{"eicar", []byte(eicar), map[string]any{"infected": true, "signature": "Mailsift.Test.EICAR.UNOFFICIAL"}},
				{"marker", []byte("some text " + marker + " more text"), map[string]any{"infected": true, "signature": "Mailsift.Test.Marker.UNOFFICIAL"}},
				{"marker across chunks", split, map[string]any{"infected": true, "signature": "Mailsift.Test.Marker.UNOFFICIAL"}},
			}
			for _, tt := range tests {
				got, err := c.File(ctx, File{Name: tt.name, Data: tt.data})
				if err != nil {
					t.Errorf("%s: %v", tt.name, err)
					continue
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
				}
			}

			// clamd's StreamMaxLength is 1M; the client allows 4 MiB.
			_, err = c.File(ctx, File{Name: "big", Data: make([]byte, 2<<20)})
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "INSTREAM size limit exceeded") {
				t.Errorf("2 MiB: err = %v, want clamd's size limit as ErrTooLarge", err)
			}
		})
	}

	t.Run("max_bytes", func(t *testing.T) {
		c, err := NewClamAV(ClamAVConfig{Address: d.unix, MaxBytes: 100})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.File(t.Context(), File{Name: "x", Data: make([]byte, 101)}); !errors.Is(err, ErrTooLarge) {
			t.Errorf("File over max_bytes: err = %v, want ErrTooLarge", err)
		}
		if _, err := c.Scan(t.Context(), io.LimitReader(zeros{}, 1000)); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Scan over max_bytes: err = %v, want ErrTooLarge", err)
		}
		if _, err := c.File(t.Context(), File{Name: "x"}); !errors.Is(err, ErrNoData) {
			t.Errorf("File without data: err = %v, want ErrNoData", err)
		}
	})

	t.Run("stage", func(t *testing.T) {
		c, err := NewClamAV(ClamAVConfig{Address: d.unix, MaxBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		s := NewFileStage(c, 10*time.Second, 10)
		got := s.File(t.Context(), File{Name: "eicar.com", Data: []byte(eicar)})
		if got.Error != "" || got.Result["signature"] != "Mailsift.Test.EICAR.UNOFFICIAL" {
			t.Fatalf("Stage.File = %+v", got)
		}

		d.stop()
		// The cached answer survives the daemon; a new file gets an error.
		if got := s.File(t.Context(), File{Name: "eicar.com", Data: []byte(eicar)}); got.Error != "" {
			t.Errorf("cached lookup after stop = %+v", got)
		}
		got = s.File(t.Context(), File{Name: "clean.txt", Data: []byte("clean")})
		if got.Result != nil || !strings.HasPrefix(got.Error, "enrich: clamav: dial unix:") {
			t.Errorf("Stage.File with clamd stopped = %+v, want a dial error", got)
		}
		if err := c.Ping(t.Context()); err == nil {
			t.Errorf("Ping with clamd stopped: no error")
		}
	})
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// fakeClamd answers every connection with reply, after reading the whole
// INSTREAM request (closing with unread data would reset the connection),
// or not at all when reply is empty.
func fakeClamd(t *testing.T, reply string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "fake.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = conn.Close() }()
				if !readInstream(bufio.NewReader(conn)) {
					return
				}
				if reply == "" {
					_, _ = io.Copy(io.Discard, conn)
					return
				}
				_, _ = conn.Write([]byte(reply))
			}()
		}
	}()
	return "unix:" + sock
}

// readInstream reads "zINSTREAM\x00" and the length-prefixed chunks up to
// the empty one.
func readInstream(r *bufio.Reader) bool {
	if cmd, err := r.ReadString(0); err != nil || cmd != "zINSTREAM\x00" {
		return false
	}
	var n [4]byte
	for {
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return false
		}
		size := binary.BigEndian.Uint32(n[:])
		if size == 0 {
			return true
		}
		if _, err := r.Discard(int(size)); err != nil {
			return false
		}
	}
}

func TestClamAVReplies(t *testing.T) {
	tests := []struct {
		reply   string
		sig     string
		wantErr error
	}{
		{"stream: OK\x00", "", nil},
		{"stream: OK\n", "", nil},
		{"stream: Win.Test.EICAR_HDB-1 FOUND\x00", "Win.Test.EICAR_HDB-1", nil},
		{"INSTREAM size limit exceeded. ERROR\x00", "", ErrTooLarge},
		{"stream: Can't allocate memory ERROR\x00", "", ErrClamd},
		{"UNKNOWN COMMAND\x00", "", ErrClamd},
		{"\x00", "", ErrClamd},
	}
	for _, tt := range tests {
		c, err := NewClamAV(ClamAVConfig{Address: fakeClamd(t, tt.reply)})
		if err != nil {
			t.Fatal(err)
		}
		sig, err := c.Scan(t.Context(), strings.NewReader("x"))
		if sig != tt.sig || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("reply %q: Scan = %q, %v; want %q, %v", tt.reply, sig, err, tt.sig, tt.wantErr)
		}
	}
}

func TestClamAVContext(t *testing.T) {
	c, err := NewClamAV(ClamAVConfig{Address: fakeClamd(t, "")})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Scan(ctx, strings.NewReader("x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Scan past the deadline: err = %v, want DeadlineExceeded", err)
	}

	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := c.Scan(ctx, strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Scan canceled: err = %v, want Canceled", err)
	}

	s := NewFileStage(c, 50*time.Millisecond, 10)
	got := s.File(t.Context(), File{Name: "x", Data: []byte("x")})
	if !strings.HasPrefix(got.Error, "enrich: clamav: timeout after 50ms") {
		t.Errorf("Stage.File against a silent clamd = %+v", got)
	}
}

func TestClamAVAddress(t *testing.T) {
	for _, addr := range []string{"", "/run/clamd.ctl", "unix:", "tcp:localhost", "udp:1.2.3.4:5"} {
		if _, err := NewClamAV(ClamAVConfig{Address: addr}); err == nil {
			t.Errorf("NewClamAV(%q): no error", addr)
		}
	}
	c, err := NewClamAV(ClamAVConfig{Address: "unix:" + filepath.Join(t.TempDir(), "none.sock")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Scan(t.Context(), strings.NewReader("x")); err == nil || !strings.HasPrefix(err.Error(), "enrich: clamav: dial unix:") {
		t.Errorf("Scan without a daemon: err = %v", err)
	}
}

func FuzzClamdReply(f *testing.F) {
	for _, s := range []string{"stream: OK\x00", "stream: Eicar-Test-Signature FOUND\x00", "INSTREAM size limit exceeded. ERROR\x00", "stream:  FOUND", "", "\x00\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		reply, err := readReply(bytes.NewReader(b))
		if err != nil {
			return
		}
		sig, err := parseScanReply(reply)
		if err == nil && sig != "" && (strings.ContainsRune(sig, 0) || !strings.HasPrefix(reply, "stream: ")) {
			t.Errorf("reply %q gave signature %q", reply, sig)
		}
		if err != nil && sig != "" {
			t.Errorf("reply %q gave signature %q and error %v", reply, sig, err)
		}
	})
}
