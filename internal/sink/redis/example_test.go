package redis_test

import (
	"context"
	"log"
	"time"

	"github.com/mailsift/mailsift/internal/sink"
	"github.com/mailsift/mailsift/internal/sink/redis"
	"github.com/mailsift/mailsift/report"
)

// Reports go to the stream mailsift:mails, and their attachments to
// mailsift:attachments, each capped at about 100000 entries. A server
// that is down is reported to OnError and tried again; Write blocks once
// 1000 reports wait.
func ExampleOpen() {
	q, err := redis.Open("redis://127.0.0.1:6379/0?mode=stream&docs=split&maxlen=100000",
		sink.QueueOptions{Size: 1000, OnError: func(err error) { log.Print(err) }})
	if err != nil {
		log.Fatal(err)
	}
	r := &report.Report{Version: report.Version, ID: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
		AnalysedAt: time.Now()}
	if err := q.Write(context.Background(), r); err != nil {
		log.Print(err)
	}
	if err := q.Close(); err != nil {
		log.Print(err)
	}
}
