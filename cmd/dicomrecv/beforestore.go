package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/dicomrecv/dicomrecv"
	"github.com/dicomrecv/dicomrecv/dicom"
)

// maxWebhookAnswer bounds the body of a beforeStoreWebhook answer.
const maxWebhookAnswer = 1 << 20

// beforeStore is the CLI's onBeforeStore: the static changes of modifyTags,
// then the answer of beforeStoreWebhook.
type beforeStore struct {
	modify  map[string]*string // nil value: delete
	webhook string
	client  *http.Client
}

// newBeforeStore checks modifyTags and beforeStoreWebhook; it returns nil
// when neither is configured.
func newBeforeStore(modify map[string]*string, webhook string, custom []dicomrecv.CustomTag) (*beforeStore, error) {
	if len(modify) == 0 && webhook == "" {
		return nil, nil
	}
	for name := range modify {
		if err := checkAttributeName(name, custom); err != nil {
			return nil, fmt.Errorf("config: modifyTags: %v", err)
		}
	}
	if webhook != "" {
		u, err := url.Parse(webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("config: beforeStoreWebhook: %q is not an http(s) URL", webhook)
		}
	}
	return &beforeStore{modify: modify, webhook: webhook, client: &http.Client{}}, nil
}

// checkAttributeName accepts what BeforeStoreRequest.Set accepts: a
// keyword, a custom tag name, or a tag.
func checkAttributeName(name string, custom []dicomrecv.CustomTag) error {
	for _, c := range custom {
		if c.Name == name {
			return nil
		}
	}
	_, _, err := dicom.ResolveTag(name)
	return err
}

// apply changes req by a map of name -> value (nil deletes), in name order
// so that the result does not depend on map order.
func apply(req *dicomrecv.BeforeStoreRequest, changes map[string]*string) {
	names := make([]string, 0, len(changes))
	for k := range changes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if v := changes[k]; v == nil {
			req.Delete(k)
		} else {
			req.Set(k, *v)
		}
	}
}

func (b *beforeStore) run(ctx context.Context, req *dicomrecv.BeforeStoreRequest) error {
	apply(req, b.modify)
	if b.webhook == "" {
		return nil
	}
	body, err := json.Marshal(map[string]any{
		"tags":           req.Tags,
		"callingAeTitle": req.CallingAETitle,
		"calledAeTitle":  req.CalledAETitle,
		"remoteAddr":     req.RemoteAddr,
	})
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, b.webhook, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	rsp, err := b.client.Do(hr)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return errors.New("beforeStoreWebhook timed out")
		}
		return errors.New("beforeStoreWebhook unreachable")
	}
	defer rsp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(rsp.Body, maxWebhookAnswer+1))
	if err != nil {
		return fmt.Errorf("beforeStoreWebhook: reading its answer: %v", err)
	}
	switch {
	case rsp.StatusCode == http.StatusNoContent:
		return nil
	case rsp.StatusCode != http.StatusOK:
		// The answer's text is the Error Comment the sender sees.
		text := strings.TrimSpace(string(answer))
		if text == "" {
			text = fmt.Sprintf("beforeStoreWebhook answered %d", rsp.StatusCode)
		}
		return errors.New(text)
	case len(answer) > maxWebhookAnswer:
		return errors.New("beforeStoreWebhook answer too large")
	}
	changes, err := parseChanges(answer)
	if err != nil {
		return fmt.Errorf("beforeStoreWebhook: %v", err)
	}
	apply(req, changes)
	return nil
}

// parseChanges reads a JSON object of changes: a string or a number sets
// the attribute, null deletes it.
func parseChanges(b []byte) (map[string]*string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return nil, errors.New("malformed answer (want a JSON object of changes)")
	}
	changes := make(map[string]*string, len(raw))
	for k, v := range raw {
		t := bytes.TrimSpace(v)
		switch {
		case string(t) == "null":
			changes[k] = nil
		case len(t) > 0 && t[0] == '"':
			var s string
			if err := json.Unmarshal(t, &s); err != nil {
				return nil, fmt.Errorf("%s: %v", k, err)
			}
			changes[k] = &s
		default:
			var n json.Number
			if err := json.Unmarshal(t, &n); err != nil {
				return nil, fmt.Errorf("%s: want a string, a number or null", k)
			}
			s := n.String()
			changes[k] = &s
		}
	}
	return changes, nil
}
