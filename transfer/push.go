package transfer

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// pushAll writes a to every registry destination, pushing it once per
// repository and then only tagging it (a manifest PUT) under the other tags
// there, and loads it into the Docker daemon under all docker-daemon: names
// at once.
func pushAll(ctx context.Context, a mutate.Appendable, dsts []Ref, o *options) error {
	pushed := map[string]bool{}
	var daemonTags []name.Tag
	for _, d := range dsts {
		switch d.Transport {
		case Registry:
			repo := d.Name.Context().Name()
			var err error
			if t, ok := d.Name.(name.Tag); ok && pushed[repo] {
				err = tag(ctx, a, t, o)
			} else {
				err = push(ctx, a, d, o)
			}
			if err != nil {
				return fmt.Errorf("pushing %s: %w", d, err)
			}
			pushed[repo] = true
		case DockerDaemon:
			daemonTags = append(daemonTags, d.Name.(name.Tag))
		}
	}
	if len(daemonTags) > 0 {
		if err := loadDaemon(ctx, a.(v1.Image), daemonTags, o.dockerHost); err != nil {
			return fmt.Errorf("loading into the Docker daemon: %w", err)
		}
	}
	return nil
}

// tag points t at a, already pushed to t's repository.
func tag(ctx context.Context, a mutate.Appendable, t name.Tag, o *options) error {
	n, err := o.reference(t)
	if err != nil {
		return err
	}
	tg, ok := a.(remote.Taggable)
	if !ok {
		return fmt.Errorf("%T has no manifest to tag", a)
	}
	return o.pushError(n, remote.Tag(n.(name.Tag), tg, o.remote(ctx, n.Context().Registry)...))
}

// push writes a to the registry d, forwarding progress to WithProgress's
// channel, which remote closes after each push.
func push(ctx context.Context, a mutate.Appendable, d Ref, o *options) error {
	n, err := o.reference(d.Name)
	if err != nil {
		return err
	}
	ropts := o.remote(ctx, n.Context().Registry)
	if o.progress != nil {
		ch, stop, done := make(chan v1.Update), make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case u, ok := <-ch:
					if !ok {
						return
					}
					o.progress <- u
				case <-stop:
					return
				}
			}
		}()
		defer func() { close(stop); <-done }()
		ropts = append(ropts, remote.WithProgress(ch))
	}
	digests, err := layerDigests(a)
	if err != nil {
		return err
	}
	claim, from, err := o.mounts.claim(ctx, n.Context(), digests)
	if err != nil {
		return err
	}
	if idx, ok := mountFrom(a, from).(v1.ImageIndex); ok {
		err = remote.WriteIndex(n, idx, ropts...)
	} else {
		err = remote.Write(n, mountFrom(a, from).(v1.Image), ropts...)
	}
	claim.release(err == nil)
	return o.pushError(n, err)
}
