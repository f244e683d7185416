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
	res, err := flows.Deliver(ctx, g.Env, p, tok, msg, size, e, o)
	g.drop(profile, err)
	return res, err
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
