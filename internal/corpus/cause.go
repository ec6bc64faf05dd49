package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

var digits = regexp.MustCompile(`[0-9]+`)

// cause names, in one word, why the image's run differs from the host's,
// and shows the first line that differs.
func cause(host, again, img output) (string, string) {
	detail := firstDiff(host, img)
	hostAll, imgAll := host.stdout+host.stderr, img.stdout+img.stderr
	switch {
	case img.timedOut:
		return "timeout", detail
	case !host.same(again):
		return "varies", "differs between two runs here: " + firstDiff(host, again)
	case img.code == 126 || img.code == 127 || strings.Contains(imgAll, "error while loading shared libraries"):
		return "start", detail
	}
	if hn, err := os.Hostname(); err == nil && hn != "" && strings.Contains(hostAll, hn) {
		h := output{strings.ReplaceAll(host.stdout, hn, "scratchpack"), strings.ReplaceAll(host.stderr, hn, "scratchpack"), host.code, false}
		if h.same(img) {
			return "hostname", detail
		}
	}
	if host.code == img.code && digits.ReplaceAllString(hostAll, "N") == digits.ReplaceAllString(imgAll, "N") {
		return "numbers", detail // PIDs, times, sizes
	}
	if host.code == img.code && strings.ReplaceAll(hostAll, "Etc/UTC", "UTC") == imgAll {
		return "timezone", detail // this machine's /etc/localtime, which images do not get
	}
	if strings.Contains(imgAll, "/root") && !strings.Contains(hostAll, "/root") {
		return "home", detail // the state of this machine's home directory (~/.gnupg exists here)
	}
	for _, s := range []string{"No module named", "platform independent libraries", "Can't locate", "init.tcl", "cannot load such file"} {
		if strings.Contains(imgAll, s) && !strings.Contains(hostAll, s) {
			return "stdlib", detail
		}
	}
	for _, s := range []string{"tty", "terminal", "TERM"} {
		if strings.Contains(imgAll, s) != strings.Contains(hostAll, s) {
			return "terminal", detail
		}
	}
	for _, s := range []string{"/proc", "/sys/", "/dev/", "cgroup", "namespace", "capabilit", "Operation not permitted", "Permission denied"} {
		if strings.Contains(imgAll, s) && !strings.Contains(hostAll, s) {
			return "container", detail
		}
	}
	for _, s := range []string{"No such file", "no such file", "not found", "cannot open", "Can't open", "can't open", "Cannot find", "cannot find", "unable to", "Unable to"} {
		if strings.Contains(imgAll, s) && !strings.Contains(hostAll, s) {
			return "missing", detail
		}
	}
	return "other", detail
}

// firstDiff shows the first line where two runs differ.
func firstDiff(a, b output) string {
	if a.code != b.code {
		return fmt.Sprintf("exit %d here, %d in the image: %s", a.code, b.code, firstLine(lastLines(b.stderr+b.stdout, 2)))
	}
	for _, s := range [][2]string{{a.stdout, b.stdout}, {a.stderr, b.stderr}} {
		al, bl := strings.Split(s[0], "\n"), strings.Split(s[1], "\n")
		for i := 0; i < max(len(al), len(bl)); i++ {
			var x, y string
			if i < len(al) {
				x = al[i]
			}
			if i < len(bl) {
				y = bl[i]
			}
			if x != y {
				return firstLine(fmt.Sprintf("here %q, image %q", clip(x), clip(y)))
			}
		}
	}
	return ""
}

func clip(s string) string {
	if len(s) > 90 {
		return s[:90] + "…"
	}
	return s
}
