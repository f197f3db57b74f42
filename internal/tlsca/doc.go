// Package tlsca gives ionbox the certificates it serves HTTPS with, so that
// published ION client code, which hard-codes an https:// auth host, can
// drive host-based sandbox URLs (https://<sandbox>.<sandbox-domain>:port/…)
// unchanged.
//
// It owns:
//   - the local certificate authority behind --tls-self-signed: made once in
//     a directory (ca.pem, ca-key.pem) and reused on every later start,
//     because clients are told to trust ca.pem (SSL_CERT_FILE,
//     REQUESTS_CA_BUNDLE) and a new CA would silently break them;
//   - the server certificate that CA issues for the public host and
//     *.<sandbox-domain> (server.pem, server-key.pem), re-issued when the
//     hosts change or it nears expiry;
//   - the subject alternative names a public URL and sandbox domain need
//     (HostsFor);
//   - the tls.Config ionbox serves with, from that certificate or from a
//     --tls-cert/--tls-key pair.
//
// It uses only the standard library and imports nothing of ours: no ion
// package, no store, no HTTP surface. internal/server calls it; it never
// calls back.
package tlsca
