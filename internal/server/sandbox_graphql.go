package server

import (
	"context"
	"strings"
	"time"

	"github.com/ionbox/ionbox/internal/graphql"
	"github.com/ionbox/ionbox/internal/graphql/model"
	"github.com/ionbox/ionbox/internal/httpapi"
	"github.com/ionbox/ionbox/internal/sandbox"
	"github.com/ionbox/ionbox/internal/seed"
	"github.com/ionbox/ionbox/ion"
)

// graphqlSandboxes gives the GraphQL additions (requestSandbox,
// resetSandbox, …) the sandbox lifecycle and the sandboxes' URLs.
type graphqlSandboxes struct {
	svc       *sandbox.Service
	router    *sandboxRouter
	lifecycle *sandboxLifecycle
}

var _ graphql.Sandboxes = graphqlSandboxes{}

func (g graphqlSandboxes) RequestSandbox(ctx context.Context, r ion.SandboxRequest) (ion.SandboxRequest, *ion.Sandbox, []model.SandboxCredential, error) {
	// A GraphQL operation has 30 s: building the large seed data takes
	// minutes (once per deployment), so it is built in the background
	// and the request asked again, rather than cut off half-way.
	if strings.EqualFold(strings.TrimSpace(r.Shape), ion.ShapeSeeded) && strings.EqualFold(strings.TrimSpace(r.Size), seed.SizeLarge) {
		ready, err := g.svc.SeedDataReady(ctx, seed.SizeLarge)
		if err != nil {
			return ion.SandboxRequest{}, nil, nil, err
		}
		if !ready {
			g.lifecycle.buildSeedData(seed.SizeLarge)
			return ion.SandboxRequest{}, nil, nil, ion.Errorf(ion.ECONFLICT,
				"The large seed data is being built on this server (once; it takes minutes). Request the sandbox again in a few minutes, or ask the operator: `ionbox sandbox request --shape seeded --size large` waits and shows progress.")
		}
	}
	res, err := g.svc.Request(ctx, r)
	if err != nil {
		return ion.SandboxRequest{}, nil, nil, err
	}
	creds := make([]model.SandboxCredential, 0, len(res.Credentials))
	for _, c := range res.Credentials {
		creds = append(creds, model.SandboxCredential{ServiceAccount: c.ServiceAccount, ClientID: c.ClientID, ClientSecret: c.ClientSecret})
	}
	return res.Request, res.Sandbox, creds, nil
}

func (g graphqlSandboxes) ResetSandbox(ctx context.Context, name, checkpoint string) (ion.Sandbox, string, time.Duration, error) {
	actor := "operator"
	if a, ok := ion.ActorFrom(ctx); ok {
		actor = a.User.Email
	}
	res, err := g.svc.ResetAs(ctx, name, checkpoint, actor)
	if err != nil {
		return ion.Sandbox{}, "", 0, err
	}
	return res.Sandbox, res.ResetTo, res.Duration, nil
}

func (g graphqlSandboxes) SandboxURLs(name string) (string, string) {
	base := g.router.SandboxBaseURL(name)
	return base, httpapi.Environment{BaseURL: base}.TokenURL()
}
