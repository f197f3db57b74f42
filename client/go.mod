module github.com/ionbox/ionbox/client

go 1.26.8

require golang.org/x/oauth2 v0.38.0
