package client

import (
	"fmt"
	"os"
	"strings"
)

// FromEnv builds a Client from environment variables:
//
//   - ION_BASE_URL, and ION_CLIENT_ID + ION_CLIENT_SECRET (client
//     credentials) or ION_TOKEN (a ready access token); ION_TOKEN_URL
//     optionally overrides the token endpoint.
//   - With ION_ENV=sandbox the same names read ION_SANDBOX_BASE_URL,
//     ION_SANDBOX_CLIENT_ID, …; with ION_ENV=prod (or production),
//     ION_PROD_BASE_URL, …. The unprefixed names are then ignored, so one
//     variable never serves two environments.
//
// Errors name the missing variable.
func FromEnv(opts ...Option) (*Client, error) {
	return fromLookup(os.LookupEnv, opts...)
}

// fromLookup is FromEnv over any variable source (tests).
func fromLookup(lookup func(string) (string, bool), opts ...Option) (*Client, error) {
	prefix := "ION_"
	envName, _ := lookup("ION_ENV")
	switch strings.ToLower(strings.TrimSpace(envName)) {
	case "":
	case "sandbox", "sbx":
		prefix = "ION_SANDBOX_"
	case "prod", "production":
		prefix = "ION_PROD_"
	default:
		return nil, fmt.Errorf("client: ION_ENV=%q: want sandbox or prod (or unset)", envName)
	}
	get := func(name string) string {
		v, _ := lookup(prefix + name)
		return strings.TrimSpace(v)
	}
	cfg := Config{
		BaseURL: get("BASE_URL"), ClientID: get("CLIENT_ID"), ClientSecret: get("CLIENT_SECRET"),
		Token: get("TOKEN"), TokenURL: get("TOKEN_URL"),
	}
	switch {
	case cfg.BaseURL == "":
		return nil, fmt.Errorf("client: %sBASE_URL is not set", prefix)
	case cfg.Token != "":
	case cfg.ClientID == "" && cfg.ClientSecret == "":
		return nil, fmt.Errorf("client: no credential: set %sCLIENT_ID and %sCLIENT_SECRET, or %sTOKEN", prefix, prefix, prefix)
	case cfg.ClientID == "":
		return nil, fmt.Errorf("client: %sCLIENT_ID is not set (%sCLIENT_SECRET is)", prefix, prefix)
	case cfg.ClientSecret == "":
		return nil, fmt.Errorf("client: %sCLIENT_SECRET is not set (%sCLIENT_ID is)", prefix, prefix)
	}
	return New(cfg, opts...)
}
