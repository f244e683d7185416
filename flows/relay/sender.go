package relay

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// GraphSender is the production Sender: a token from flows.GetToken (kept
// in memory while valid for more than flows.CacheMinValidity), then
// flows.Deliver.
type GraphSender struct {
	// Env reaches Entra and Graph.
	Env *flows.Env
	// Profile returns a stored profile and the secrets store holding its
	// credentials (cmd/mailgrant: profiles plus (*app).secretsFor).
	Profile func(name string) (store.Profile, flows.Secrets, error)
	// Lock serializes token refreshes with other mailgrant processes.
	Lock flows.Locker
	// OnToken, when set, is called for each token obtained from Entra (not
	// from memory or the keyring's cache); NewDelivery points it at the
	// token refreshes metric.
	OnToken func()
	// LogDir, when set, is the config directory whose sent-mail log gets
	// one line per message Graph accepted or refused for good (mailgrant
	// log); attempts that will be retried are not logged.
	LogDir string

	mu     sync.Mutex
	tokens map[string]*flows.Token
}

// token returns the profile and a valid token for it.
func (g *GraphSender) token(ctx context.Context, name string) (store.Profile, *flows.Token, error) {
	p, secrets, err := g.Profile(name)
	if err != nil {
		return p, nil, err
	}
	now := g.Env.Now()
	g.mu.Lock()
	tok := g.tokens[name]
	g.mu.Unlock()
	if tok != nil && tok.ExpiresAt.Sub(now) > flows.CacheMinValidity {
		return p, tok, nil
	}
	tok, err = flows.GetToken(ctx, g.Env, secrets, p, flows.TokenOptions{Lock: g.Lock, UseCache: true})
	if err != nil {
		return p, nil, err
	}
	if g.OnToken != nil && !tok.FromCache {
		g.OnToken()
	}
	g.mu.Lock()
	if g.tokens == nil {
		g.tokens = map[string]*flows.Token{}
	}
	g.tokens[name] = tok
	g.mu.Unlock()
	return p, tok, nil
}

// drop forgets a profile's token after Graph refused it, so the next
// attempt obtains a new one.
func (g *GraphSender) drop(name string, err error) {
	var fe *flows.Error
	if errors.As(err, &fe) && (fe.HTTPStatus == 401 || fe.State == flows.StateUnauthorized) {
		g.mu.Lock()
		delete(g.tokens, name)
		g.mu.Unlock()
	}
}

// Deliver implements Sender.
func (g *GraphSender) Deliver(ctx context.Context, profile string, msg io.ReaderAt, size int64, e flows.Envelope, o flows.DeliverOptions) (*flows.DeliverResult, error) {
	p, tok, err := g.token(ctx, profile)
	if err != nil {
		return nil, err
	}
	// The profile's default Reply-To (mailgrant edit --reply-to), for a
	// message that names none; the From default is the route's business.
	if lines := flows.DefaultHeadersAt(p, msg, size, "Reply-To"); lines != nil {
		msg, size = prefixed{head: lines, rest: msg}, size+int64(len(lines))
	}
	res, err := flows.Deliver(ctx, g.Env, p, tok, msg, size, e, o)
	g.drop(profile, err)
	if g.LogDir != "" && flows.Classify(err) != flows.OutcomeTemporary {
		_ = flows.LogSent(g.LogDir, flows.SentRecordFor(g.Env.Now(), p, e.From, len(e.Recipients), size, "relay", res, err))
	}
	return res, err
}

// prefixed reads head, then rest: a message with header lines put in front.
type prefixed struct {
	head []byte
	rest io.ReaderAt
}

func (p prefixed) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	if off < int64(len(p.head)) {
		n = copy(b, p.head[off:])
		if n == len(b) {
			return n, nil
		}
		off = int64(len(p.head))
	}
	k, err := p.rest.ReadAt(b[n:], off-int64(len(p.head)))
	return n + k, err
}

// DraftExists implements Sender.
func (g *GraphSender) DraftExists(ctx context.Context, profile, mailbox, draftID string) (bool, error) {
	p, tok, err := g.token(ctx, profile)
	if err != nil {
		return false, err
	}
	ok, err := flows.DraftExists(ctx, g.Env, p, tok, mailbox, draftID)
	g.drop(profile, err)
	return ok, err
}

// SendDraft implements Sender.
func (g *GraphSender) SendDraft(ctx context.Context, profile, mailbox, draftID string) error {
	p, tok, err := g.token(ctx, profile)
	if err != nil {
		return err
	}
	err = flows.SendDraft(ctx, g.Env, p, tok, mailbox, draftID)
	g.drop(profile, err)
	return err
}

// DeleteDraft implements Sender.
func (g *GraphSender) DeleteDraft(ctx context.Context, profile, mailbox, draftID string) error {
	p, tok, err := g.token(ctx, profile)
	if err != nil {
		return err
	}
	err = flows.DeleteDraft(ctx, g.Env, p, tok, mailbox, draftID)
	g.drop(profile, err)
	return err
}
