package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ionbox/ionbox/internal/webhook"
)

// ListenCmd is `ionbox listen`: it reads a sandbox's webhook sink as
// Server-Sent Events (GET {base}/webhooks/stream) and POSTs each delivery
// to a local receiver with the body and headers a live delivery carries,
// so that the consumer's signature checks run unchanged.
type ListenCmd struct {
	IONFlags
	ForwardTo string `name:"forward-to" required:"" help:"Local receiver URL each delivery is POSTed to, e.g. http://localhost:3000/hook."`
	Receiver  int64  `name:"receiver" help:"Only this receiver's deliveries (its id)."`
	Secret    string `name:"secret" env:"ION_WEBHOOK_SECRET" help:"Re-sign each delivery with this secret when it is forwarded (default: forward the signatures the server made with the receiver's secret when it streamed the delivery)."`
	Replay    bool   `name:"replay" help:"Start with every delivery the sink has recorded, not only new ones."`
	Count     int    `name:"count" help:"Stop after forwarding this many deliveries (0: run until interrupted)."`
}

// listenEvent is one SSE event.
type listenEvent struct {
	id, event string
	data      []byte
}

func (c *ListenCmd) Run(g *Globals) error {
	fwd, err := url.Parse(c.ForwardTo)
	if err != nil || (fwd.Scheme != "http" && fwd.Scheme != "https") || fwd.Host == "" {
		return fmt.Errorf("--forward-to %q: give an http:// or https:// URL of your local receiver, e.g. http://localhost:3000/hook", c.ForwardTo)
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	streamURL := strings.TrimRight(c.BaseURL, "/") + "/webhooks/stream"
	q := url.Values{}
	if c.Receiver > 0 {
		q.Set("receiverId", strconv.FormatInt(c.Receiver, 10))
	}
	lastID := ""
	if c.Replay {
		lastID = "0"
	}
	forwarded := 0
	backoff := time.Second
	httpc := &http.Client{}
	for g.Ctx.Err() == nil {
		tok, err := cl.AccessToken(g.Ctx)
		if err != nil {
			return fmt.Errorf("access token for %s: %w", c.BaseURL, err)
		}
		u := streamURL
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		req, err := http.NewRequestWithContext(g.Ctx, http.MethodGet, u, nil)
		if err != nil {
			return fmt.Errorf("--base-url %q: %w", c.BaseURL, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "text/event-stream")
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := httpc.Do(req)
		if err != nil {
			if g.Ctx.Err() != nil {
				break
			}
			fmt.Fprintf(g.Stderr, "sink stream: %v; reconnecting in %v\n", err, backoff)
			if !sleepCtx(g.Ctx, backoff) {
				break
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			msg := streamErrorMessage(raw)
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
				fmt.Fprintf(g.Stderr, "sink stream: HTTP %d: %s; reconnecting in %v\n", resp.StatusCode, msg, backoff)
				if !sleepCtx(g.Ctx, backoff) {
					break
				}
				backoff = min(2*backoff, 30*time.Second)
				continue
			}
			return fmt.Errorf("sink stream %s: HTTP %d: %s", streamURL, resp.StatusCode, msg)
		}
		fmt.Fprintf(g.Stderr, "listening to %s, forwarding to %s\n", streamURL, c.ForwardTo)
		backoff = time.Second
		err = readEvents(resp.Body, func(ev listenEvent) error {
			if ev.event != "webhook" {
				return nil
			}
			if err := c.forward(g, httpc, ev.data); err != nil {
				return err
			}
			lastID = ev.id
			forwarded++
			if c.Count > 0 && forwarded >= c.Count {
				return errEnough
			}
			return nil
		})
		resp.Body.Close()
		if errors.Is(err, errEnough) {
			return nil
		}
		if g.Ctx.Err() != nil {
			break
		}
		fmt.Fprintf(g.Stderr, "sink stream ended (%v); reconnecting after delivery %s\n", err, lastID)
		if !sleepCtx(g.Ctx, backoff) {
			break
		}
	}
	return nil
}

var errEnough = errors.New("forwarded --count deliveries")

// forward POSTs one streamed delivery to the local receiver.
func (c *ListenCmd) forward(g *Globals, httpc *http.Client, data []byte) error {
	var ev webhook.StreamEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("sink stream sent an event that is not JSON: %w", err)
	}
	h := http.Header{}
	for k, v := range ev.Headers {
		h.Set(k, v)
	}
	body := []byte(ev.Body)
	if c.Secret != "" {
		h.Set(webhook.HeaderSignature, webhook.SignatureHex([]byte(c.Secret), body))
		if err := webhook.SignStandard(h, []byte(c.Secret), ev.WebhookID, time.Now(), body); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(g.Ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.ForwardTo, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = h
	status := "error"
	resp, err := httpc.Do(req)
	if err != nil {
		status = err.Error()
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		status = resp.Status
	}
	fmt.Fprintf(g.Stdout, "%s  delivery %d  %s %s  webhook-id %s  → %s\n",
		time.Now().Format("15:04:05"), ev.DeliveryID, ev.Resource, ev.Action, ev.WebhookID, status)
	return nil
}

// readEvents parses a text/event-stream body and calls fn for each event.
func readEvents(r io.Reader, fn func(listenEvent) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var ev listenEvent
	var data bytes.Buffer
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if data.Len() > 0 || ev.event != "" {
				ev.data = bytes.TrimSuffix(data.Bytes(), []byte("\n"))
				if err := fn(ev); err != nil {
					return err
				}
			}
			ev, data = listenEvent{}, bytes.Buffer{}
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.id = value
		case "event":
			ev.event = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.EOF
}

func streamErrorMessage(raw []byte) string {
	var e struct {
		Errors []struct{ Message string }
	}
	if json.Unmarshal(raw, &e) == nil && len(e.Errors) > 0 {
		return e.Errors[0].Message
	}
	return strings.TrimSpace(string(raw))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
