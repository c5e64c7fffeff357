package mailq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mailsift/mailsift/internal/sink"
	"github.com/mailsift/mailsift/report"
)

// resultItem is one encoded report.
type resultItem struct {
	id   string
	data []byte
}

// results publishes reports to the results subject.
type results struct{ q *Queue }

var _ sink.Batcher[resultItem] = results{}

// OpenResults returns the sink that publishes every report as JSON to
// cfg.Results, with the report id as de-duplication id: the results
// stream keeps one copy of a report written twice within the
// duplicate_window. The Queue stays open when the sink closes.
func (q *Queue) OpenResults(o sink.QueueOptions) (*sink.Queue[resultItem], error) {
	if q.cfg.Results == "" {
		return nil, errors.New("mailq: no results subject configured")
	}
	return sink.NewQueue("nats:"+q.cfg.Results, results{q}, o), nil
}

func (r results) Encode(rep *report.Report) (resultItem, error) {
	data, err := json.Marshal(rep)
	if err != nil {
		return resultItem{}, err
	}
	return resultItem{id: rep.ID, data: data}, nil
}

// Send publishes the batch at once and waits for the server's answers;
// the reports it did not store are sent again.
func (r results) Send(ctx context.Context, batch []resultItem) ([]resultItem, int, error) {
	futures := make([]jetstream.PubAckFuture, len(batch))
	var retry []resultItem
	var firstErr error
	for i, it := range batch {
		msg := nats.NewMsg(r.q.cfg.Results)
		msg.Data = it.data
		f, err := r.q.js.PublishMsgAsync(msg, jetstream.WithMsgID(it.id), jetstream.WithExpectStream(r.q.cfg.ResultsStream))
		if err != nil {
			firstErr = cmpErr(firstErr, err)
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			retry = append(retry, batch[i])
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			firstErr = cmpErr(firstErr, err)
			retry = append(retry, batch[i])
		case <-ctx.Done():
			firstErr = cmpErr(firstErr, ctx.Err())
			retry = append(retry, batch[i])
		}
	}
	if firstErr != nil {
		return retry, 0, fmt.Errorf("publish to %s: %w", r.q.cfg.Results, firstErr)
	}
	return nil, 0, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func (results) Close() error { return nil }
