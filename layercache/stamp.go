package layercache

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Stamp is what stat(2) says of a file that no write to it leaves
// unchanged: its device, inode, size, and change time (ctime), which any
// write sets and no tool can set back. A file read and checked while its
// stamp stayed the same, and whose stamp is the same later, still holds
// the bytes that were checked, unless it was changed within the clock
// tick before it was checked: see Settled.
type Stamp struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime_ns"`
	Ctime int64  `json:"ctime_ns"`
}

// settleTime is how long before a check a file must have last changed for
// its stamp to vouch for it afterwards: far more than the file system's
// clock tick, as packer's racy window for sources.
const settleTime = 2 * time.Second

// StampOf is the stamp of the open file f.
func StampOf(f *os.File) (Stamp, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return Stamp{}, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	return stampOf(&st), nil
}

// StampPath is the stamp of the file at name, following links.
func StampPath(name string) (Stamp, error) {
	var st unix.Stat_t
	if err := unix.Stat(name, &st); err != nil {
		return Stamp{}, fmt.Errorf("stat %s: %w", name, err)
	}
	return stampOf(&st), nil
}

func stampOf(st *unix.Stat_t) Stamp {
	return Stamp{Dev: uint64(st.Dev), Ino: st.Ino, Size: st.Size,
		Mtime: time.Unix(st.Mtim.Unix()).UnixNano(), Ctime: time.Unix(st.Ctim.Unix()).UnixNano()}
}

// Settled reports whether the file last changed well before t, the time
// it began to be checked: a write in the same clock tick as the check
// could otherwise leave the stamp as it was (git's "racily clean" files).
func (s Stamp) Settled(t time.Time) bool {
	return t.Sub(time.Unix(0, s.Ctime)) > settleTime && t.Sub(time.Unix(0, s.Mtime)) > settleTime
}
