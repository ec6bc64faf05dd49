package elfdeps

// summarize fills in the closure-wide version needs: the program's and those
// of every library that does not come with glibc (or libstdc++) itself.
func (r *resolver) summarize(rep *Report) {
	c := r.closure
	c.GlibcMin, c.GlibcxxMin = rep.GlibcMin, rep.GlibcxxMin
	for _, l := range c.Libraries {
		if !IsGlibcSoname(l.Soname) && CompareVersions(l.GlibcMin, c.GlibcMin) > 0 {
			c.GlibcMin = l.GlibcMin
		}
		if l.Soname != "libstdc++.so.6" && CompareVersions(l.GlibcxxMin, c.GlibcxxMin) > 0 {
			c.GlibcxxMin = l.GlibcxxMin
		}
	}
}
