package core

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Transaction is one reported call.
type Transaction struct {
	// Credentials identify the application: an app_id or a user_key
	// (app keys are not checked by report and are not sent).
	Credentials Credentials
	// Usage is what the call used. Empty means the client's default usage.
	Usage Usage
	// Timestamp is when the call happened; zero means "now" on the backend.
	// It must lie within the backend's window (24 h in the past to 1 h in
	// the future), or the backend silently drops the whole batch; Report
	// refuses such timestamps before sending.
	Timestamp time.Time
	// LogCode is the upstream response's HTTP status (0 = not sent).
	LogCode int
}

// ReportRequest is one report call.
type ReportRequest struct {
	Transactions []Transaction
	// Service overrides the client's service credentials (one report call
	// is for one service).
	Service *Service
	// FlatUsage sends the flat_usage extension: usage is recorded without
	// propagation to parent metrics. It is also sent when the client's
	// extensions have FlatUsage.
	FlatUsage bool
}

// LogValue implements [slog.LogValuer] without secrets (the user_key is
// redacted by Credentials).
func (t Transaction) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 4)
	attrs = append(attrs, slog.Any("credentials", t.Credentials), slog.Any("usage", t.Usage))
	if !t.Timestamp.IsZero() {
		attrs = append(attrs, slog.Time("timestamp", t.Timestamp))
	}
	if t.LogCode != 0 {
		attrs = append(attrs, slog.Int("log_code", t.LogCode))
	}
	return slog.GroupValue(attrs...)
}

// LogValue implements [slog.LogValuer] without secrets: the service
// credentials are redacted and the transactions are counted, not listed.
func (r ReportRequest) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Int("transactions", len(r.Transactions))}
	if r.Service != nil {
		attrs = append(attrs, slog.Any("service", *r.Service))
	}
	if r.FlatUsage {
		attrs = append(attrs, slog.Bool("flat_usage", true))
	}
	return slog.GroupValue(attrs...)
}

// Backend timestamp window for reports.
const (
	reportMaxAge    = 24 * time.Hour
	reportMaxFuture = time.Hour
)

// Report sends transactions with POST /transactions.xml as a form body,
// split into batches of at most MaxBatchTransactions (and under the
// backend's 4096-parameter limit). Every transaction is validated before the
// first request. A 202 answer means "accepted for processing", not
// "valid": unknown applications or metrics only appear later as integration
// errors in 3scale. When a later batch fails, the result counts the batches
// already accepted and the error says why the rest was not.
func (c *Client) Report(ctx context.Context, req ReportRequest) (*ReportResult, error) {
	const op = "report"
	if c == nil || c.hc == nil {
		return nil, &Error{Op: op, Kind: ErrInvalidInput, Message: "client not created with NewClient"}
	}
	svc := c.service
	if req.Service != nil {
		svc = *req.Service
	}
	if err := c.validateReport(req.Transactions, svc); err != nil {
		return nil, &Error{Op: op, Kind: ErrInvalidInput, Err: err}
	}
	var ext []string
	if req.FlatUsage || c.ext.FlatUsage {
		ext = []string{"flat_usage=1"}
	}
	res := &ReportResult{}
	for start := 0; start < len(req.Transactions); {
		body, n := c.encodeBatch(svc, req.Transactions[start:])
		if err := c.sendBatch(ctx, body, ext, svc); err != nil {
			if res.Batches > 0 {
				err.Err = &partialReportError{failed: res.Batches + 1, accepted: res.Transactions,
					notSent: len(req.Transactions) - res.Transactions, err: err.Err}
			}
			return res, err
		}
		res.Batches++
		res.Transactions += n
		start += n
	}
	return res, nil
}

func (c *Client) validateReport(txs []Transaction, svc Service) error {
	if err := svc.validate(); err != nil {
		return err
	}
	if len(txs) == 0 {
		return fmt.Errorf("no transactions to report")
	}
	now := c.now()
	for i := range txs {
		t := &txs[i]
		if err := t.Credentials.Validate(); err != nil {
			return fmt.Errorf("transaction %d: %w", i, err)
		}
		if err := t.Usage.Validate(); err != nil {
			return fmt.Errorf("transaction %d: %w", i, err)
		}
		if len(t.Usage) == 0 && len(c.defaultUsage) == 0 {
			return fmt.Errorf("transaction %d: no usage (the backend drops transactions without usage)", i)
		}
		if !t.Timestamp.IsZero() {
			if t.Timestamp.Before(now.Add(-reportMaxAge)) {
				return fmt.Errorf("transaction %d: timestamp %s is older than 24h; the backend would drop the whole batch", i, t.Timestamp.UTC().Format(time.RFC3339))
			}
			if t.Timestamp.After(now.Add(reportMaxFuture)) {
				return fmt.Errorf("transaction %d: timestamp %s is more than 1h in the future; the backend would drop the whole batch", i, t.Timestamp.UTC().Format(time.RFC3339))
			}
		}
		if txParams(t, c.defaultUsage) > maxBatchParams-2 {
			return fmt.Errorf("transaction %d: %d metrics do not fit in one request (backend limit: 4096 parameters)", i, len(t.Usage))
		}
		if t.LogCode != 0 && (t.LogCode < 100 || t.LogCode > 999) {
			return fmt.Errorf("transaction %d: log code %d is not an HTTP status (100..999)", i, t.LogCode)
		}
	}
	return nil
}

// encodeBatch encodes as many transactions as fit in one request and
// returns the body and how many it holds.
func (c *Client) encodeBatch(svc Service, txs []Transaction) (string, int) {
	b := appendServiceParams(make([]byte, 0, 256+len(txs)*96), svc)
	params := 2
	n := 0
	var prefix []byte
	for i := range txs {
		if n == MaxBatchTransactions {
			break
		}
		t := &txs[i]
		usage := t.Usage
		if len(usage) == 0 {
			usage = c.defaultUsage
		}
		cost := txParams(t, c.defaultUsage)
		if n > 0 && params+cost > maxBatchParams {
			break
		}
		params += cost
		prefix = append(append(append(prefix[:0], "transactions["...), strconv.Itoa(n)...), ']')
		p := string(prefix)
		switch t.Credentials.kind {
		case KindUserKey:
			b = appendParam(b, p+"[user_key]", t.Credentials.userKey)
		default:
			b = appendParam(b, p+"[app_id]", t.Credentials.appID)
		}
		b = appendUsage(b, p+"[usage]", usage)
		if !t.Timestamp.IsZero() {
			b = appendParam(b, p+"[timestamp]", strconv.FormatInt(t.Timestamp.Unix(), 10))
		}
		if t.LogCode != 0 {
			b = appendParam(b, p+"[log][code]", strconv.Itoa(t.LogCode))
		}
		n++
	}
	return string(b), n
}

// txParams is the number of form parameters transaction t encodes to.
func txParams(t *Transaction, defaultUsage Usage) int {
	n := 1 + len(t.Usage)
	if len(t.Usage) == 0 {
		n += len(defaultUsage)
	}
	if !t.Timestamp.IsZero() {
		n++
	}
	if t.LogCode != 0 {
		n++
	}
	return n
}

// partialReportError is the cause attached to a report error when earlier
// batches were already accepted, so that the error text says so (the
// ReportResult returned alongside has the same counts).
type partialReportError struct {
	failed, accepted, notSent int
	err                       error
}

func (p *partialReportError) Error() string {
	s := fmt.Sprintf("batch %d failed; %d transaction(s) in earlier batches were accepted, the other %d were not confirmed (later batches were not sent)", p.failed, p.accepted, p.notSent)
	if p.err != nil {
		s += ": " + p.err.Error()
	}
	return s
}

func (p *partialReportError) Unwrap() error { return p.err }

func (c *Client) sendBatch(ctx context.Context, body string, ext []string, svc Service) *Error {
	const op = "report"
	hreq, cancel, err := c.newRequest(ctx, http.MethodPost, "/transactions.xml", "", ext, strings.NewReader(body))
	if err != nil {
		return &Error{Op: op, Kind: ErrInvalidInput, Err: err}
	}
	defer cancel()
	status, _, respBody, err := c.do(hreq)
	if err != nil {
		return c.transportError(op, hreq.Context(), err, svc, Credentials{})
	}
	if status == http.StatusAccepted {
		return nil
	}
	e := parseErrorResponse(status, respBody, false)
	e.Op = op
	redactError(e, svc, Credentials{})
	return e
}
