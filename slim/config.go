package slim

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/transfer"
)

// configHook gives each slim image its original's configuration: its
// environment, entrypoint and command, working directory, user, ports,
// volumes, labels, stop signal, health check and shell, its platform's
// variant, and history entries that say what it was made from.
func configHook(plans []*plan, ref transfer.Ref, version string) func(*v1.ConfigFile) error {
	if version == "" {
		version = "devel"
	}
	return func(cf *v1.ConfigFile) error {
		pl := planFor(plans, cf)
		if pl == nil {
			return fmt.Errorf("no image of %s/%s was made smaller", cf.OS, cf.Architecture)
		}
		orig := pl.config.Config.DeepCopy()
		orig.OnBuild, orig.Image = nil, ""
		cf.Config = *orig
		if cf.Variant == "" {
			cf.Variant = pl.platform.Variant
		}
		cf.OSVersion, cf.OSFeatures = pl.config.OSVersion, pl.config.OSFeatures
		from := pl.digest.String()
		if ref.Transport == transfer.Registry && ref.Name != nil {
			// Only a registry's name means the same on every machine.
			from = ref.Name.Context().String() + "@" + from
		}
		for i := range cf.History {
			cf.History[i].CreatedBy = fmt.Sprintf("scratchpack %s slim %s", version, from)
		}
		return nil
	}
}

// planFor finds the plan of the image whose configuration cf is: the same
// architecture, and variant where both name one.
func planFor(plans []*plan, cf *v1.ConfigFile) *plan {
	for _, pl := range plans {
		if pl.platform.Architecture == cf.Architecture && (cf.Variant == "" || pl.platform.Variant == "" || pl.platform.Variant == cf.Variant) {
			return pl
		}
	}
	return nil
}
