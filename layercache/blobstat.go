package layercache

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// blobMtime is the mtime of every blob in the cache, set when it enters.
// Any later write to a blob (a careless tool, a layout it is linked into)
// sets its mtime to the present, which differs; a blob whose stat says
// what its entry recorded is unchanged, and need not be read again to be
// trusted. (Recording the mtime the write left would not do: a write within
// the same tick of the file system's clock would keep it, as git's "racily
// clean" entries show.)
var blobMtime = time.Unix(1, 0)

// blobStat is what a cache entry records of its blob. The ctime too, which
// no tool can set back: a blob written and then given its old mtime again
// (touch -d) differs in it, and is read and checked. (Blobs are no longer
// linked into outputs, whose linking and removal changed it.)
type blobStat struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime_ns"`
	Ctime int64  `json:"ctime_ns"`
	Mode  uint32 `json:"mode"` // permission bits: 0444
	Nlink uint64 `json:"nlink"`
}

// unchangedSince reports whether the blob whose stat is now is the one of
// stat was, unwritten since. The ctime may differ only together with the
// link count: another process renaming its copy over the blob's name
// unlinks it, which sets its ctime, and changes nothing in it. A write,
// even one followed by setting the mtime back, changes the ctime alone.
func (now blobStat) unchangedSince(was blobStat) bool {
	if now.Nlink != was.Nlink {
		now.Ctime, now.Nlink = was.Ctime, was.Nlink
	}
	return now == was
}

func statBlob(name string) (blobStat, error) {
	var st unix.Stat_t
	if err := unix.Stat(name, &st); err != nil {
		return blobStat{}, fmt.Errorf("cache blob: %w", err)
	}
	return statOf(&st), nil
}

func fstatBlob(f *os.File) (blobStat, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return blobStat{}, fmt.Errorf("cache blob %s: %w", f.Name(), err)
	}
	return statOf(&st), nil
}

func statOf(st *unix.Stat_t) blobStat {
	return blobStat{Dev: uint64(st.Dev), Ino: st.Ino, Size: st.Size, Mtime: time.Unix(st.Mtim.Unix()).UnixNano(),
		Ctime: time.Unix(st.Ctim.Unix()).UnixNano(), Mode: st.Mode & 0o7777, Nlink: uint64(st.Nlink)}
}
