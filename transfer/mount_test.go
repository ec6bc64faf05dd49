package transfer

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestMountsClaim(t *testing.T) {
	h := func(c byte) v1.Hash {
		return v1.Hash{Algorithm: "sha256", Hex: sixtyFour[:63] + string(c)}
	}
	repo := func(s string) name.Repository {
		r, err := name.NewRepository(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	froms := func(m map[v1.Hash]name.Repository) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k.Hex[63:]] = v.String()
		}
		return out
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		ok   bool
		want map[string]string
	}{
		{"pushed: mounted", true, map[string]string{"y": "example.com/a"}},
		{"failed: uploaded again", false, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMounts()
			a, from, err := m.claim(ctx, repo("example.com/a"), []v1.Hash{h('x'), h('y')})
			if err != nil || len(from) != 0 {
				t.Fatalf("first claim: %v, %v", from, err)
			}
			type result struct {
				from map[v1.Hash]name.Repository
				err  error
			}
			done := make(chan result)
			go func() {
				_, from, err := m.claim(ctx, repo("example.com/b"), []v1.Hash{h('y'), h('z')})
				done <- result{from, err}
			}()
			select {
			case r := <-done:
				t.Fatalf("the second push did not wait for the layer the first is pushing: %v", r)
			case <-time.After(50 * time.Millisecond):
			}
			a.release(tc.ok)
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			if diff := cmp.Diff(tc.want, froms(r.from)); diff != "" {
				t.Errorf("mounted (-want +got):\n%s", diff)
			}
			// Another registry mounts nothing from this one.
			_, from, err = m.claim(ctx, repo("other.example/c"), []v1.Hash{h('y')})
			if err != nil || len(from) != 0 {
				t.Errorf("another registry: %v, %v", from, err)
			}
		})
	}
}

func TestMountsClaimCanceled(t *testing.T) {
	m := NewMounts()
	r, _ := name.NewRepository("example.com/a")
	d := v1.Hash{Algorithm: "sha256", Hex: sixtyFour}
	if _, _, err := m.claim(context.Background(), r, []v1.Hash{d}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r2, _ := name.NewRepository("example.com/b")
	if _, _, err := m.claim(ctx, r2, []v1.Hash{d}); err == nil {
		t.Error("a canceled wait did not fail")
	}
}
