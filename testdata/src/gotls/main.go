// Command gotls is the Go TLS fixture: it serves HTTPS on 127.0.0.1 with the
// certificate and key given as arguments, then fetches from itself with
// net/http's default client, which verifies the server against the
// system's CA certificates (/etc/ssl/certs/ca-certificates.crt on Linux).
// The handshake succeeds only if the CA that signed the certificate is in
// that bundle. Usage: gotls CERT.pem KEY.pem
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gotls CERT.pem KEY.pem")
		os.Exit(2)
	}
	cert, err := tls.LoadX509KeyPair(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "loading the server certificate:", err)
		os.Exit(2)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello over TLS")
	})}
	go srv.Serve(ln)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	resp, err := http.Get("https://127.0.0.1:" + port + "/")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("verified by the system CA bundle: %s\n", body)
}
