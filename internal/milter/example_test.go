package milter_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"strings"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/mailsift/mailsift/internal/milter"
)

// spamWords is a stand-in Scanner: mail that offers free money is spam.
type spamWords struct{}

func (spamWords) Scan(_ context.Context, raw []byte) (milter.Verdict, error) {
	if strings.Contains(string(raw), "free money") {
		return milter.Verdict{SpamHeader: "yes; 0.99; free:99 money:99 ", Class: milter.Spam, Score: 0.99}, nil
	}
	return milter.Verdict{SpamHeader: "no; 0.01; ", Class: milter.Ham, Score: 0.01}, nil
}

func Example() {
	cfg := milter.DefaultConfig()
	cfg.TagSubjectAt = 0.9
	if err := cfg.Validate(); err != nil {
		log.Fatal(err)
	}
	srv := milter.New(cfg, spamWords{}, milter.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0") // milter.Listen(cfg.Listen) in production
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil {
			log.Print(err)
		}
	}()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Print(err)
		}
	}()

	// What the MTA does for one message, with the milter client.
	s, err := gomilter.NewClient("tcp", ln.Addr().String()).Session(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for _, step := range []func() (*gomilter.Action, error){
		func() (*gomilter.Action, error) {
			return s.Conn("client.example", gomilter.FamilyInet, 4000, "192.0.2.1")
		},
		func() (*gomilter.Action, error) { return s.Helo("client.example") },
		func() (*gomilter.Action, error) { return s.Mail("<promo@example.net>", "") },
		func() (*gomilter.Action, error) { return s.Rcpt("<bob@example.org>", "") },
		func() (*gomilter.Action, error) { return s.DataStart() },
		func() (*gomilter.Action, error) { return s.HeaderField("X-Spam", " no", nil) }, // forged
		func() (*gomilter.Action, error) { return s.HeaderField("Subject", " Act now", nil) },
		func() (*gomilter.Action, error) { return s.HeaderEnd() },
	} {
		if _, err := step(); err != nil {
			log.Fatal(err)
		}
	}
	mods, act, err := s.BodyReadFrom(strings.NewReader("Get free money today.\r\n"))
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range mods {
		switch {
		case m.Type == gomilter.ActionChangeHeader && m.HeaderValue == "":
			fmt.Printf("delete %s\n", m.HeaderName)
		case m.Type == gomilter.ActionChangeHeader:
			fmt.Printf("change %s: %s\n", m.HeaderName, strings.TrimSpace(m.HeaderValue))
		default:
			fmt.Printf("add    %s: %s\n", m.HeaderName, strings.TrimSpace(m.HeaderValue))
		}
	}
	fmt.Println(act)
	// Output:
	// change Subject: [SPAM] Act now
	// delete X-Spam
	// add    X-Spam: yes; 0.99; free:99 money:99
	// Accept
}
