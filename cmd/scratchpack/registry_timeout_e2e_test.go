package main

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRegistryHangsEndInTime: against a registry on 127.0.0.1 that never
// answers, and one that redirects to itself forever, ls, pull and run end
// within --timeout, exit 4 (run: 125), and say why.
func TestRegistryHangsEndInTime(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go bufio.NewReader(c).ReadString(0) // read, never answer
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Redirect(w, r, r.URL.String(), http.StatusFound)
	}))
	t.Cleanup(loop.Close)
	for _, srv := range []struct{ name, host, want string }{
		{"silent", l.Addr().String(), "gave no answer within 2s"},
		{"redirect loop", strings.TrimPrefix(loop.URL, "http://"), "redirected more than 10 times"},
	} {
		ref := srv.host + "/app:v1"
		for _, cmd := range []struct {
			args []string
			code int
		}{
			{[]string{"ls", "--timeout", "2s", ref}, exitRegistry},
			{[]string{"pull", "--timeout", "2s", ref, "-o", "oci:" + t.TempDir()}, exitRegistry},
			{[]string{"run", "--timeout", "2s", ref}, exitRunFailed},
		} {
			t.Run(srv.name+"/"+cmd.args[0], func(t *testing.T) {
				start := time.Now()
				_, errOut, code := run(t, nil, cmd.args...)
				took := time.Since(start)
				t.Logf("exit %d after %s: %s", code, took.Round(time.Millisecond), strings.TrimSpace(errOut))
				if code != cmd.code || !strings.Contains(errOut, srv.want) {
					t.Errorf("exit %d, want %d saying %q:\n%s", code, cmd.code, srv.want, errOut)
				}
				if took > 4*time.Second {
					t.Errorf("took %s with --timeout 2s", took)
				}
			})
		}
	}
}
